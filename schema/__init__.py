"""The GraphQL surface: Strawberry types, inputs, unions and the schema object."""
