/**
 * What an IOS command's output says about the command: accepted, or refused.
 *
 * IOS reports most refusals on a line starting with `%`, but not all of them,
 * and not every `%` line is a refusal:
 * - refusals without `%`: `Command rejected: ...` (for example `switchport
 *   mode trunk` on an ISL-capable port whose encapsulation is still
 *   negotiated), and the VTP client mode refusal of VLAN commands;
 * - informational `%` lines after an accepted command: `% Access VLAN does
 *   not exist. Creating vlan N`, `% Applying VLAN changes may take few
 *   minutes.  Please wait...`, and warnings such as the portfast one.
 * Evidence: the error patterns of Ansible's cisco.ios terminal plugin
 * (ansible-collections/cisco.ios plugins/terminal/ios.py @06b023c:
 * "Command Rejected", "% ?Error", "invalid input", "(?:incomplete|ambiguous)
 * command", "Bad mask", "overlaps with", and its disabled `^% \w+` pattern:
 * a bare `%` is not an error there either); napalm's ios driver matches
 * "%Please turn config archive on" for a revert timer without `archive`
 * (napalm-automation/napalm napalm/ios/ios.py @ee70e63, commit_config).
 */

/** `%` lines that follow an accepted command. */
const INFORMATIONAL: RegExp[] = [
  /^% ?Access VLAN does not exist\. Creating vlan \d+/i,
  /^% ?Applying VLAN changes may take few minutes/i,
  /^% ?Warning: portfast should only be enabled on ports connected to a single host/i,
];

/** Refusals that do not start with `%`. */
const REFUSALS: RegExp[] = [/^Command rejected:/i, /VLAN configuration not allowed when device is in CLIENT mode/i, /Command authorization failed/i];

/** The first line of `output` that says the command was refused, or undefined when it was accepted. */
export function iosError(output: string): string | undefined {
  for (const raw of output.split('\n')) {
    const l = raw.trim();
    if (l === '') continue;
    if (/^%/.test(l)) {
      if (INFORMATIONAL.some((re) => re.test(l))) continue;
      return l;
    }
    if (REFUSALS.some((re) => re.test(l))) return l;
  }
  return undefined;
}
