"""Monitor configuration: upstream's JSON formats, validated once into typed objects."""
