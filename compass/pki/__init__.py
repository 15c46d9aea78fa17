"""Keys and certificates: the JWT signing key now; the CA and the Connector's
certificate signing come with the trust capability."""
