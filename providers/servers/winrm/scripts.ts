/**
 * The PowerShell the winrm driver runs. Every script is a CONSTANT: no
 * manifest value is ever spliced into PowerShell source. Data travels as
 * base64-encoded UTF-8 JSON on the one line `$payload = '<base64>'`; the base64
 * alphabet (A-Z a-z 0-9 + / =) cannot close the single-quoted string, so a
 * value like `'; Remove-Item C:\ -Recurse; '` stays data.
 *
 * Each script declares its operation in its first line (`# einklang-op: read`)
 * so the simulator can recognise it (and refuse anything that is not exactly
 * one of these scripts).
 *
 * Transport of a script: the command is `powershell.exe ... -EncodedCommand
 * <BOOTSTRAP>`; the bootstrap reads the script, itself base64, from stdin
 * (sent in chunks, so payloads are not limited by the command-line length)
 * and runs it. Results come back on stdout as one line
 * `EINKLANG-RESULT:<base64 of UTF-8 JSON>`, immune to the console code page.
 *
 * JSON is handled with .NET's JavaScriptSerializer (MaxJsonLength raised)
 * rather than ConvertFrom-Json, whose Windows PowerShell 5.1 version stops at
 * 2 MB (file contents travel inside the JSON).
 */

export const OPS = ['read', 'apply-file', 'apply-directory', 'apply-user', 'apply-group', 'apply-service', 'apply-feature', 'apply-registry'] as const;
export type Op = (typeof OPS)[number];

const PLACEHOLDER = '__EINKLANG_PAYLOAD__';
const PAYLOAD_LINE_RE = /^\$payload = '([A-Za-z0-9+/=]*)'$/m;
export const RESULT_MARKER = 'EINKLANG-RESULT:';

/** Reads the script (base64 of UTF-8) from stdin and runs it. */
export const BOOTSTRAP = [
  "$ErrorActionPreference = 'Stop'",
  '$s = $input | Out-String',
  "$s = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String(($s -replace '\\s', '')))",
  '& ([ScriptBlock]::Create($s))',
].join('\r\n');

export const POWERSHELL = 'powershell.exe';
export const POWERSHELL_ARGS = [
  '-NoProfile',
  '-NonInteractive',
  '-ExecutionPolicy',
  'Bypass',
  '-EncodedCommand',
  Buffer.from(BOOTSTRAP, 'utf16le').toString('base64'),
];

const PRELUDE = String.raw`$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$payload = '__EINKLANG_PAYLOAD__'
Add-Type -AssemblyName System.Web.Extensions
$json = New-Object System.Web.Script.Serialization.JavaScriptSerializer
$json.MaxJsonLength = [int]::MaxValue
$json.RecursionLimit = 32
$in = $json.DeserializeObject([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($payload)))
# values must be plain .NET objects (strings are cast where a pipeline could wrap them in PSObject)
function Write-Result($obj) {
  $text = $json.Serialize($obj)
  [Console]::Out.WriteLine('EINKLANG-RESULT:' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($text)))
}
function Short-Name([string]$n) {
  foreach ($p in @($env:COMPUTERNAME + '\', 'BUILTIN\')) {
    if ($n.StartsWith($p, [StringComparison]::OrdinalIgnoreCase)) { return $n.Substring($p.Length) }
  }
  return $n
}
function Get-Sid([string]$name) {
  try { return (New-Object System.Security.Principal.NTAccount($name)).Translate([System.Security.Principal.SecurityIdentifier]).Value }
  catch { throw ('account ' + $name + ' does not exist') }
}
function Open-RegKey([string]$p, [bool]$create) {
  $i = $p.IndexOf(':\')
  if ($i -lt 1) { throw ('bad registry path ' + $p) }
  $hive = $p.Substring(0, $i).ToUpperInvariant()
  $sub = $p.Substring($i + 2)
  $root = $null
  if ($hive -eq 'HKLM') { $root = [Microsoft.Win32.Registry]::LocalMachine }
  elseif ($hive -eq 'HKCU') { $root = [Microsoft.Win32.Registry]::CurrentUser }
  elseif ($hive -eq 'HKCR') { $root = [Microsoft.Win32.Registry]::ClassesRoot }
  elseif ($hive -eq 'HKU') { $root = [Microsoft.Win32.Registry]::Users }
  elseif ($hive -eq 'HKCC') { $root = [Microsoft.Win32.Registry]::CurrentConfig }
  else { throw ('unknown registry hive ' + $hive) }
  if ($create) { return $root.CreateSubKey($sub) }
  return $root.OpenSubKey($sub, $true)
}
function Find-LocalUser([string]$n) { Get-LocalUser | Where-Object { $_.Name -eq $n } | Select-Object -First 1 }
function Find-LocalGroup([string]$n) { Get-LocalGroup | Where-Object { $_.Name -eq $n } | Select-Object -First 1 }
function Find-Service([string]$n) { [System.ServiceProcess.ServiceController]::GetServices() | Where-Object { $_.ServiceName -eq $n } | Select-Object -First 1 }
function Find-Feature([string]$n) { Get-WindowsFeature | Where-Object { $_.Name -eq $n } | Select-Object -First 1 }
function Member-Sids($g) {
  try { return @(Get-LocalGroupMember -Group $g | ForEach-Object { $_.SID.Value }) } catch { return @() }
}
function Set-Owner([string]$p, $owner, $group) {
  if ($null -eq $owner -and $null -eq $group) { return }
  $acl = Get-Acl -LiteralPath $p
  if ($null -ne $owner) { $acl.SetOwner((New-Object System.Security.Principal.NTAccount([string]$owner))) }
  if ($null -ne $group) { $acl.SetGroup((New-Object System.Security.Principal.NTAccount([string]$group))) }
  Set-Acl -LiteralPath $p -AclObject $acl
}
try {
`;

const EPILOGUE = String.raw`
} catch {
  Write-Result @{ ok = $false; error = $_.Exception.Message }
  exit 1
}
`;

const BODIES: Record<Op, string> = {
  read: String.raw`
  $membership = @{}
  if (@(@($in.objects) | Where-Object { $_.kind -eq 'User' -or $_.kind -eq 'Group' }).Count -gt 0) {
    foreach ($g in Get-LocalGroup) {
      $m = @()
      try { $m = @(Get-LocalGroupMember -Group $g | ForEach-Object { Short-Name $_.Name }) } catch { $m = @() }
      $membership[$g.Name] = [string[]]$m
    }
  }
  $features = $null
  $results = New-Object System.Collections.ArrayList
  foreach ($o in @($in.objects)) {
    $state = $null
    $id = [string]$o.id
    if ($o.kind -eq 'File') {
      if ([IO.File]::Exists($id)) {
        $acl = Get-Acl -LiteralPath $id
        $state = @{ contentBase64 = [Convert]::ToBase64String([IO.File]::ReadAllBytes($id)); owner = [string](Short-Name $acl.Owner); group = [string](Short-Name $acl.Group) }
      }
    } elseif ($o.kind -eq 'Directory') {
      if ([IO.Directory]::Exists($id)) {
        $acl = Get-Acl -LiteralPath $id
        $state = @{ owner = [string](Short-Name $acl.Owner); group = [string](Short-Name $acl.Group) }
      }
    } elseif ($o.kind -eq 'User') {
      $u = Find-LocalUser $id
      if ($u) {
        $gs = [string[]]@($membership.Keys | Where-Object { @($membership[$_]) -contains $u.Name } | Sort-Object)
        $state = @{ comment = [string]$u.FullName; groups = $gs }
      }
    } elseif ($o.kind -eq 'Group') {
      $g = Find-LocalGroup $id
      if ($g) { $state = @{ members = [string[]]@($membership[$g.Name] | Sort-Object) } }
    } elseif ($o.kind -eq 'Service') {
      $s = Find-Service $id
      if ($s -and [string]$s.StartType -ne 'Disabled') {
        $run = 'stopped'
        if ([string]$s.Status -eq 'Running') { $run = 'running' }
        $state = @{ enabled = ([string]$s.StartType -eq 'Automatic'); state = $run }
      }
    } elseif ($o.kind -eq 'WindowsFeature') {
      if ($null -eq $features) { $features = @{}; foreach ($f in Get-WindowsFeature) { $features[$f.Name] = $f } }
      $f = $features[$id]
      if ($f -and $f.Installed) { $state = @{ name = [string]$f.Name } }
    } elseif ($o.kind -eq 'RegistryValue') {
      $k = Open-RegKey ([string]$o.path) $false
      if ($k) {
        try {
          $name = [string]$o.name
          if (@($k.GetValueNames()) -contains $name) {
            $kind = [string]$k.GetValueKind($name)
            $raw = $k.GetValue($name, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
            if ($kind -eq 'DWord') { $data = [BitConverter]::ToUInt32([BitConverter]::GetBytes([int32]$raw), 0) }
            elseif ($kind -eq 'QWord') { $data = [BitConverter]::ToUInt64([BitConverter]::GetBytes([int64]$raw), 0).ToString() }
            elseif ($kind -eq 'MultiString') { $data = [string[]]$raw }
            elseif ($kind -eq 'Binary') { $data = (@($raw) | ForEach-Object { $_.ToString('x2') }) -join '' }
            else { $data = [string]$raw }
            $state = @{ path = [string]$o.path; name = $name; type = $kind; data = $data }
          }
        } finally { $k.Close() }
      }
    } else {
      throw ('unsupported kind ' + $o.kind)
    }
    [void]$results.Add(@{ kind = $o.kind; id = $id; state = $state })
  }
  Write-Result @{ ok = $true; objects = $results.ToArray() }`,

  'apply-file': String.raw`
  $p = [string]$in.path
  if ($in.action -eq 'delete') {
    if ([IO.File]::Exists($p)) { [IO.File]::Delete($p) }
  } else {
    $dir = [IO.Path]::GetDirectoryName($p)
    if (-not [IO.Directory]::Exists($dir)) { throw ('parent directory ' + $dir + ' does not exist') }
    if ($null -ne $in.owner) { [void](Get-Sid ([string]$in.owner)) }
    if ($null -ne $in.group) { [void](Get-Sid ([string]$in.group)) }
    if ($null -ne $in.contentBase64) {
      $tmp = [IO.Path]::Combine($dir, '.einklang-' + [Guid]::NewGuid().ToString('N') + '.tmp')
      try {
        [IO.File]::WriteAllBytes($tmp, [Convert]::FromBase64String([string]$in.contentBase64))
        if ([IO.File]::Exists($p)) { [IO.File]::Replace($tmp, $p, $null) } else { [IO.File]::Move($tmp, $p) }
      } finally { if ([IO.File]::Exists($tmp)) { [IO.File]::Delete($tmp) } }
    } elseif (-not [IO.File]::Exists($p)) {
      [IO.File]::WriteAllBytes($p, [byte[]]@())
    }
    Set-Owner $p $in.owner $in.group
  }
  Write-Result @{ ok = $true }`,

  'apply-directory': String.raw`
  $p = [string]$in.path
  if ($in.action -eq 'delete') {
    if ([IO.Directory]::Exists($p)) {
      if (@([IO.Directory]::EnumerateFileSystemEntries($p)).Count -gt 0) { throw ('directory ' + $p + ' is not empty') }
      [IO.Directory]::Delete($p)
    }
  } else {
    if ($null -ne $in.owner) { [void](Get-Sid ([string]$in.owner)) }
    if ($null -ne $in.group) { [void](Get-Sid ([string]$in.group)) }
    [void][IO.Directory]::CreateDirectory($p)
    Set-Owner $p $in.owner $in.group
  }
  Write-Result @{ ok = $true }`,

  'apply-user': String.raw`
  $n = [string]$in.name
  $u = Find-LocalUser $n
  if ($in.action -eq 'delete') {
    if ($u) { Remove-LocalUser -InputObject $u }
  } else {
    $want = $null
    if ($null -ne $in.groups) {
      $want = @(foreach ($gn in @($in.groups)) { $g = Find-LocalGroup ([string]$gn); if (-not $g) { throw ('group ' + $gn + ' does not exist') }; $g.SID.Value })
    }
    $created = $false
    if (-not $u) {
      $params = @{ Name = $n; NoPassword = $true }
      if ($null -ne $in.comment -and [string]$in.comment -ne '') { $params.FullName = [string]$in.comment }
      $u = New-LocalUser @params
      $created = $true
    } elseif ($null -ne $in.comment) {
      Set-LocalUser -InputObject $u -FullName ([string]$in.comment)
    }
    try {
      if ($null -ne $want) {
        foreach ($g in Get-LocalGroup) {
          $isMember = @(Member-Sids $g) -contains $u.SID.Value
          $wanted = $want -contains $g.SID.Value
          if ($wanted -and -not $isMember) { Add-LocalGroupMember -Group $g -Member $u }
          elseif ($isMember -and -not $wanted) { Remove-LocalGroupMember -Group $g -Member $u }
        }
      }
    } catch {
      if ($created) { Remove-LocalUser -InputObject $u }
      throw
    }
  }
  Write-Result @{ ok = $true }`,

  'apply-group': String.raw`
  $n = [string]$in.name
  $g = Find-LocalGroup $n
  if ($in.action -eq 'delete') {
    if ($g) { Remove-LocalGroup -InputObject $g }
  } else {
    $want = $null
    if ($null -ne $in.members) { $want = @(foreach ($m in @($in.members)) { Get-Sid ([string]$m) }) }
    $created = $false
    if (-not $g) { $g = New-LocalGroup -Name $n; $created = $true }
    try {
      if ($null -ne $want) {
        $have = @(Member-Sids $g)
        foreach ($sid in $have) { if ($want -notcontains $sid) { Remove-LocalGroupMember -Group $g -Member $sid } }
        foreach ($sid in $want) { if ($have -notcontains $sid) { Add-LocalGroupMember -Group $g -Member $sid } }
      }
    } catch {
      if ($created) { Remove-LocalGroup -InputObject $g }
      throw
    }
  }
  Write-Result @{ ok = $true }`,

  'apply-service': String.raw`
  $n = [string]$in.name
  $s = Find-Service $n
  if (-not $s) { throw ('service ' + $n + ' is not installed') }
  if ($in.action -eq 'delete') {
    if ([string]$s.Status -ne 'Stopped') { Stop-Service -InputObject $s -Force }
    if ([string]$s.StartType -ne 'Disabled') { Set-Service -InputObject $s -StartupType Disabled }
  } else {
    $start = $null
    if ($in.enabled -eq $true) { $start = 'Automatic' }
    elseif ($in.enabled -eq $false -or [string]$s.StartType -eq 'Disabled') { $start = 'Manual' }
    if ($null -ne $start -and [string]$s.StartType -ne $start) { Set-Service -InputObject $s -StartupType $start }
    if ($in.state -eq 'running' -and [string]$s.Status -ne 'Running') { Start-Service -InputObject $s }
    if ($in.state -eq 'stopped' -and [string]$s.Status -ne 'Stopped') { Stop-Service -InputObject $s -Force }
  }
  Write-Result @{ ok = $true }`,

  'apply-feature': String.raw`
  $n = [string]$in.name
  $f = Find-Feature $n
  if (-not $f) { throw ('Windows feature ' + $n + ' is not available on this server') }
  $restart = 'No'
  if ($in.action -eq 'delete') {
    if ($f.Installed) { $r = $f | Uninstall-WindowsFeature; if (-not $r.Success) { throw ('removing ' + $n + ' failed') }; $restart = [string]$r.RestartNeeded }
  } else {
    if (-not $f.Installed) { $r = $f | Install-WindowsFeature; if (-not $r.Success) { throw ('installing ' + $n + ' failed') }; $restart = [string]$r.RestartNeeded }
  }
  Write-Result @{ ok = $true; restartNeeded = $restart }`,

  'apply-registry': String.raw`
  $name = [string]$in.name
  if ($in.action -eq 'delete') {
    $k = Open-RegKey ([string]$in.path) $false
    if ($k) { try { $k.DeleteValue($name, $false) } finally { $k.Close() } }
  } else {
    $type = [string]$in.type
    $d = $in.data
    if ($type -eq 'DWord') { $value = [BitConverter]::ToInt32([BitConverter]::GetBytes([uint32]$d), 0) }
    elseif ($type -eq 'QWord') { $value = [BitConverter]::ToInt64([BitConverter]::GetBytes([uint64]::Parse([string]$d)), 0) }
    elseif ($type -eq 'MultiString') { $value = [string[]]@($d) }
    elseif ($type -eq 'Binary') {
      $h = [string]$d
      $value = New-Object byte[] ($h.Length / 2)
      for ($i = 0; $i -lt $value.Length; $i++) { $value[$i] = [Convert]::ToByte($h.Substring($i * 2, 2), 16) }
    }
    elseif ($type -eq 'String' -or $type -eq 'ExpandString') { $value = [string]$d }
    else { throw ('unsupported registry type ' + $type) }
    $k = Open-RegKey ([string]$in.path) $true
    try { $k.SetValue($name, $value, [Microsoft.Win32.RegistryValueKind]$type) } finally { $k.Close() }
  }
  Write-Result @{ ok = $true }`,
};

function template(op: Op): string {
  return `# einklang-op: ${op}\r\n` + (PRELUDE + BODIES[op] + EPILOGUE).replace(/\r?\n/g, '\r\n');
}

/** The constant script of each operation, with the payload placeholder. */
export const SCRIPTS: Readonly<Record<Op, string>> = Object.fromEntries(OPS.map((op) => [op, template(op)])) as Record<Op, string>;

/** The script for `op` carrying `payload` (any JSON value) as base64 data. */
export function buildScript(op: Op, payload: unknown): string {
  const b64 = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64');
  return SCRIPTS[op].replace(PLACEHOLDER, b64);
}

/**
 * The inverse, for the simulator: which operation and payload a script is,
 * or null if it is not exactly one of the constant scripts.
 */
export function recogniseScript(script: string): { op: Op; payload: unknown } | null {
  const head = /^# einklang-op: ([a-z-]+)\r?\n/.exec(script);
  if (!head || !(OPS as readonly string[]).includes(head[1])) return null;
  const op = head[1] as Op;
  const m = PAYLOAD_LINE_RE.exec(script.replace(/\r\n/g, '\n'));
  if (!m) return null;
  if (script !== SCRIPTS[op].replace(PLACEHOLDER, m[1])) return null;
  try {
    return { op, payload: JSON.parse(Buffer.from(m[1], 'base64').toString('utf8')) };
  } catch {
    return null;
  }
}

/** stdin for the bootstrap: the script as base64 of its UTF-8 bytes. */
export function scriptStdin(script: string): Buffer {
  return Buffer.from(Buffer.from(script, 'utf8').toString('base64'), 'ascii');
}

/** The JSON result a script printed, or null if there is none. */
export function parseResult(stdout: string): { ok: boolean; error?: string; [k: string]: unknown } | null {
  const lines = stdout.split(/\r?\n/).filter((l) => l.startsWith(RESULT_MARKER));
  if (!lines.length) return null;
  const b64 = lines[lines.length - 1].slice(RESULT_MARKER.length).trim();
  try {
    return JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
  } catch {
    return null;
  }
}

/** How the simulator writes a result line (the same format the scripts print). */
export function formatResult(result: unknown): string {
  return RESULT_MARKER + Buffer.from(JSON.stringify(result), 'utf8').toString('base64') + '\r\n';
}
