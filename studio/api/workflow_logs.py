"""Workflow run records for scripts: GET /workflows/run/{id} and GET /workflows/logs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from studio.api.auth import AppCaller, app_caller
from studio.api.errors import ApiError
from studio.api.events import unix
from studio.api.schemas import QueryUser
from studio.core.entities import AppMode
from studio.core.workflow import WorkflowRun

router = APIRouter(tags=["workflows"])
Caller = Annotated[AppCaller, Depends(app_caller)]


def _ts(value: datetime | None) -> int | None:
    return unix(value)


def run_json(run: WorkflowRun) -> dict:
    return {"id": run.id, "workflow_id": run.app_id, "status": run.status.value, "inputs": run.inputs,
            "outputs": run.outputs, "error": run.error or None, "total_steps": run.total_steps,
            "total_tokens": run.total_tokens, "created_at": _ts(run.created_at), "finished_at": _ts(run.finished_at),
            "elapsed_time": round(run.elapsed_ms / 1000, 6)}


@router.get("/workflows/run/{workflow_run_id}", summary="One workflow run's result")
async def get_run(caller: Caller, request: Request, workflow_run_id: str):
    run = await run_in_threadpool(request.app.state.services.workflows.get_run, workflow_run_id)
    if run.app_id != caller.app.id:
        raise ApiError(404, "not_found", "Workflow run not found.")
    return run_json(run)


@router.get("/workflows/logs", summary="The app's workflow runs, newest first")
async def logs(caller: Caller, request: Request, keyword: str = "",
               status: Literal["succeeded", "failed", "stopped", "partial-succeeded"] | None = None,
               created_at__before: datetime | None = None, created_at__after: datetime | None = None,
               created_by_end_user_session_id: QueryUser = None, created_by_account: str | None = None,
               page: int = Query(1, ge=1, le=99999), limit: int = Query(20, ge=1, le=100)):
    if caller.app.mode not in (AppMode.WORKFLOW, AppMode.ADVANCED_CHAT):
        raise ApiError(400, "not_workflow_app", "Please check if your app mode matches the right API route.")
    workflows = request.app.state.services.workflows
    runs, total = await run_in_threadpool(
        lambda: workflows.logs(caller.app.id, keyword=keyword, status=status, created_before=created_at__before,
                               created_after=created_at__after, user=created_by_end_user_session_id,
                               page=page, limit=limit))
    data = [{"id": r.id, "workflow_run": run_json(r), "created_from": "service-api", "created_by_role": "end_user",
             "created_by_account": None, "created_by_end_user": {"id": r.user, "type": "service_api",
                                                                 "is_anonymous": False, "session_id": r.user},
             "created_at": _ts(r.created_at)} for r in runs]
    return {"page": page, "limit": limit, "total": total, "has_more": page * limit < total, "data": data}
