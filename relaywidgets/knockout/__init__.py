"""Knockout experiments: clamp hidden units and measure what the network loses."""

from .spec import KNOCKOUT_VALUES, Knockout, KnockoutPlan, compile_knockouts, node_label, parse_node_label

__all__ = ["Knockout", "KnockoutPlan", "compile_knockouts", "node_label", "parse_node_label", "KNOCKOUT_VALUES"]
