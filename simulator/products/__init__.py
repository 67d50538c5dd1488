"""One module per product: only that product's behaviour. Every module here is loaded at start-up."""
