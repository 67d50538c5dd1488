"""An app's verification-code layer: one small class per provider, the same errors for all."""
