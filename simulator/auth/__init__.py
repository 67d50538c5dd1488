"""One module per auth scheme, registered under the name the specs use (x-otpsim.auth.schemes)."""
