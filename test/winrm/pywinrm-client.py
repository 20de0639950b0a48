"""An independent WinRM client for the tests: Debian's python3-winrm
(pywinrm 0.3.0 over requests-ntlm 1.1.0 and ntlm-auth 1.4.0), run with
/usr/bin/python3 (pyenv's python3 has no winrm module).

Reads a job as JSON on stdin:
  {"endpoint": "http://127.0.0.1:PORT/wsman", "user": ..., "password": ...,
   "caFile": "cert.pem" (https), "sendCbt": true, "messageEncryption": "auto",
   "commands": [{"command": ..., "args": [...], "stdin": "<base64>"}]}
opens a shell (NTLM; message encryption over http, channel binding over
https, both pywinrm's defaults), runs the commands, closes the shell and
prints {"encrypted": bool, "results": [{"stdout", "stderr" (base64), "exitCode"}]}.
On a pywinrm error it prints {"error": "<class>: <message>"} and exits 3.

stdin is sent with a Send message built from pywinrm's own SOAP header
(pywinrm 0.3.0 has no send_command_input).

MD4: ntlm-auth 1.4.0 computes the NT hash with hashlib.new('md4'), which
Debian's OpenSSL 3 keeps in its legacy provider ("ValueError: unsupported hash
type md4", requests/requests-ntlm issue 127, ansible/awx issue 13519; fixed
upstream when requests-ntlm 1.2 moved to pyspnego's own MD4). Debian's
python3-cryptography loads the legacy provider when its OpenSSL binding
initialises; requests-ntlm happens to do that over HTTPS (certificate hash for
the channel binding) but not over HTTP. The binding is initialised up front so
that both transports work the same.
"""
import base64
import json
import sys
import uuid

import xmltodict
from cryptography.hazmat.bindings.openssl.binding import Binding
from winrm.protocol import Protocol

Binding()  # see MD4 above

SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"


def send_stdin(p, shell_id, command_id, data):
    req = {"env:Envelope": p._get_soap_header(resource_uri=SHELL + "/cmd", action=SHELL + "/Send", shell_id=shell_id, message_id=uuid.uuid4())}
    stream = req["env:Envelope"].setdefault("env:Body", {}).setdefault("rsp:Send", {}).setdefault("rsp:Stream", {})
    stream["@Name"] = "stdin"
    stream["@CommandId"] = command_id
    stream["@End"] = "true"
    stream["#text"] = base64.b64encode(data).decode("ascii")
    p.send_message(xmltodict.unparse(req))


def main():
    job = json.load(sys.stdin)
    https = job["endpoint"].startswith("https:")
    p = Protocol(
        endpoint=job["endpoint"],
        transport="ntlm",
        username=job["user"],
        password=job["password"],
        server_cert_validation="validate",
        ca_trust_path=job.get("caFile") if https else None,
        message_encryption=job.get("messageEncryption", "auto"),
        send_cbt=job.get("sendCbt", True),
        read_timeout_sec=30,
        operation_timeout_sec=20,
    )
    try:
        shell_id = p.open_shell(codepage=65001)
        results = []
        for cmd in job.get("commands", []):
            command_id = p.run_command(shell_id, cmd["command"], cmd.get("args", []))
            if cmd.get("stdin"):
                send_stdin(p, shell_id, command_id, base64.b64decode(cmd["stdin"]))
            out, err, code = p.get_command_output(shell_id, command_id)
            p.cleanup_command(shell_id, command_id)
            results.append({"stdout": base64.b64encode(out).decode(), "stderr": base64.b64encode(err).decode(), "exitCode": code})
        p.close_shell(shell_id)
    except Exception as e:  # any refusal is a result for the test, not a crash
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
        return 3
    print(json.dumps({"encrypted": p.transport.encryption is not None, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
