"""If/else node: cases in order, the first true one picks its branch; otherwise the "false" branch."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from studio.workflow.conditions import Condition, check_all
from studio.workflow.node import Node, NodeConfig, NodeResult, RunContext, Selector, register


class Case(BaseModel):
    model_config = ConfigDict(extra="ignore")

    case_id: str = ""
    id: str = ""
    logical_operator: Literal["and", "or"] = "and"
    conditions: list[Condition] = Field(default_factory=list)


class IfElseConfig(NodeConfig):
    cases: list[Case] | None = None
    logical_operator: Literal["and", "or"] = "and"  # legacy single-case form
    conditions: list[Condition] | None = None


@register
class IfElseNode(Node):
    type = "if-else"
    inline = True
    Config = IfElseConfig
    kind = "branch"

    def references(self) -> list[Selector]:
        return [c.variable_selector for case in self._cases() for c in case.conditions]

    def _cases(self) -> list[Case]:
        if self.config.cases is not None:
            return self.config.cases
        return [Case(case_id="true", logical_operator=self.config.logical_operator,
                     conditions=self.config.conditions or [])]

    def run(self, ctx: RunContext) -> NodeResult:
        records = []
        for case in self._cases():
            ok, checked = check_all(ctx.pool, case.conditions, case.logical_operator)
            records.append({"case_id": case.case_id or case.id, "conditions": checked, "result": ok})
            if ok:
                handle = case.case_id or case.id
                return NodeResult(outputs={"result": True, "selected_case_id": handle},
                                  process_data={"condition_results": records}, handle=handle)
        return NodeResult(outputs={"result": False, "selected_case_id": "false"},
                          process_data={"condition_results": records}, handle="false")
