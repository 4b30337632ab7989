"""The graph engine for chatflows and workflows: Dify DSL graphs, node types, variable pool, streaming."""
