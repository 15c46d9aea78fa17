"""The Runtime Provisioner: asynchronous operations that create, reconnect,
upgrade and remove runtimes, each running its provider and the runtime agent."""
