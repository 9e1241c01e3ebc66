"""Storage: models, migrations, the unit of work and name lookup."""
