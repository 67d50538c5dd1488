"""The page served at /__otpsim/ (index.html, app.js, app.css): package data, no Python."""
