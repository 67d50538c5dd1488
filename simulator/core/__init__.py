"""The generic core: nothing in it names a product."""
