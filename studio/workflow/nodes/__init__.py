"""Node types, one folder each; importing this package registers them all."""

from studio.workflow.nodes import (  # noqa: F401
    answer,
    assigner,
    end,
    if_else,
    start,
    template_transform,
    variable_aggregator,
)
