"""What an app is and asks for: GET /parameters, /info, /meta and /site."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from studio.api.auth import AppCaller, app_caller
from studio.core.entities import App, AppMode

router = APIRouter()
Caller = Annotated[AppCaller, Depends(app_caller)]
OFF = {"enabled": False}
SYSTEM_PARAMETERS = {"image_file_size_limit": 10, "video_file_size_limit": 100, "audio_file_size_limit": 50,
                     "file_size_limit": 15, "workflow_file_upload_limit": 10}
FEATURES = ("opening_statement", "suggested_questions", "suggested_questions_after_answer", "speech_to_text",
            "text_to_speech", "retriever_resource", "annotation_reply", "more_like_this", "sensitive_word_avoidance",
            "file_upload")
DEFAULTS: dict[str, Any] = {"opening_statement": "", "suggested_questions": [], "retriever_resource": {"enabled": True},
                            "file_upload": {"image": {"enabled": False, "number_limits": 3,
                                                      "transfer_methods": ["remote_url", "local_file"]}}}


def _features(app: App) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The app's feature switches and its input form in Dify's old one-key-dict structure."""
    if app.mode in (AppMode.WORKFLOW, AppMode.ADVANCED_CHAT):
        wf = app.config.get("workflow") or {}
        features = dict(wf.get("features") or {})
        form = []
        for node in (wf.get("graph") or {}).get("nodes") or []:
            data = node.get("data") or {}
            if data.get("type") == "start":
                form = [{v.get("type", "text-input"): {k: x for k, x in v.items() if k != "type"}}
                        for v in data.get("variables") or [] if isinstance(v, dict)]
        return features, form
    return dict(app.config), list(app.config.get("user_input_form") or [])


def parameters_of(app: App) -> dict[str, Any]:
    features, form = _features(app)
    out = {key: features.get(key, DEFAULTS.get(key, OFF)) for key in FEATURES}
    out["user_input_form"] = form
    out["system_parameters"] = dict(SYSTEM_PARAMETERS)
    return out


@router.get("/parameters", tags=["apps"], summary="The app's input form and features")
async def parameters(caller: Caller) -> dict[str, Any]:
    return parameters_of(caller.app)


@router.get("/info", tags=["apps"], summary="The app's name, description and mode")
async def info(caller: Caller) -> dict[str, Any]:
    app = caller.app
    return {"name": app.name, "description": app.description, "tags": [], "mode": app.mode.value,
            "author_name": ""}


@router.get("/meta", tags=["apps"], summary="Tool icons used by the app")
async def meta(caller: Caller) -> dict[str, Any]:
    return {"tool_icons": {}}


@router.get("/site", tags=["apps"], summary="Web app settings")
async def site(caller: Caller) -> dict[str, Any]:
    app = caller.app
    return {"title": app.name, "chat_color_theme": None, "chat_color_theme_inverted": False, "icon_type": "emoji",
            "icon": app.icon, "icon_background": app.icon_background, "icon_url": None, "description": app.description,
            "copyright": None, "privacy_policy": None, "custom_disclaimer": "", "default_language": "en-US",
            "show_workflow_steps": True, "use_icon_as_answer_icon": False}
