"""The Runtime Agent: runs next to a runtime, pairs it with Compass and keeps a
copy of the applications of the runtime's scenarios in a state directory.

It speaks to the server only over HTTP(S), as any external agent would, so
nothing here imports the rest of `compass` (a test enforces it):

- `settings`: flags, `COMPASS_AGENT_*` variables and the provisioner's JSON file;
- `graphql`: one GraphQL call, and the error kinds the loop reacts to;
- `connector`: key, CSR, pairing with a one-time token and renewal over mTLS;
- `director`: reporting the runtime as CONNECTED, reading its applications,
  asking for bundle instance auths (API credentials) and giving them back;
- `instance_auths`: the requests for credentials listed in `instance-auths.json`;
- `credentials`, `state`: everything written to the state directory;
- `hook`: the command run when the configuration changes;
- `subscription`: the live subscription (WebSocket) that wakes the loop on a change;
- `loop`: the run loop (backoff, refusal, renewal, signals); `cli`: `compass agent`.
"""
