"""App and model use cases through the real services (SQLite file, GGUF files on disk)."""

import pytest

from studio.core.entities import AppMode, ModelKind
from studio.core.errors import ConflictError, ModelError, NotFoundError, ValidationError


def test_create_rename_duplicate_delete(services):
    app = services.apps.create("Helper", "chat", prompt="Be kind to {{name}}.", icon="🦊", description="d")
    assert app.mode == AppMode.CHAT and app.config["pre_prompt"] == "Be kind to {{name}}."
    assert services.apps.resolve("Helper").id == app.id
    assert services.apps.resolve(app.id).name == "Helper"
    services.apps.rename(app.id, "Helper 2")
    copy1 = services.apps.duplicate(app.id)
    copy2 = services.apps.duplicate(app.id)
    assert (copy1.name, copy2.name) == ("Helper 2 (copy)", "Helper 2 (copy 2)")
    assert copy1.config == services.apps.get(app.id).config and copy1.icon == "🦊"
    services.apps.delete(app.id)
    with pytest.raises(NotFoundError, match="No app with id or name 'Helper 2'"):
        services.apps.resolve("Helper 2")
    assert {a.name for a in services.apps.list()} == {"Helper 2 (copy)", "Helper 2 (copy 2)"}


def test_bad_app_input_is_named(services):
    with pytest.raises(ValidationError, match="must not be empty"):
        services.apps.create("   ")
    with pytest.raises(ValidationError, match="Unknown app mode 'robot'"):
        services.apps.create("x", "robot")
    services.apps.create("dup")
    with pytest.raises(ConflictError, match="'dup' already exists"):
        services.apps.create("dup")
    app = services.apps.resolve("dup")
    with pytest.raises(ValidationError, match="max_tokens"):
        services.apps.update(app.id, config={**app.config, "model": {"completion_params": {"max_tokens": 0}}})
    assert services.apps.get(app.id).config == app.config  # nothing half-written


def test_models_list_add_default_remove(services, tmp_path):
    [bundled] = [m for m in services.models.list() if m.kind == ModelKind.CHAT]
    assert bundled.source == "bundled" and services.models.default_chat_model().id == bundled.id
    copy = tmp_path / "My-Model.Q4_1.gguf"
    copy.symlink_to(bundled.path)
    added = services.models.add(str(copy))
    assert added.id == "my-model.q4_1" and added.source == "user" and added.architecture == "llama"
    with pytest.raises(ConflictError):
        services.models.add(str(copy))
    services.models.set_default_chat_model(added.id)
    assert services.models.default_chat_model().id == added.id
    with pytest.raises(ValidationError, match="bundled"):
        services.models.remove(bundled.id)
    services.models.remove(added.id)
    assert services.models.default_chat_model().id == bundled.id


def test_corrupt_and_missing_model_files(services, tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(ModelError, match="bad.gguf is not a usable model"):
        services.models.add(str(bad))
    with pytest.raises(ModelError, match="not found"):
        services.models.add(str(tmp_path / "missing.gguf"))
    assert len([m for m in services.models.list() if m.kind == ModelKind.CHAT]) == 1


def test_user_model_that_disappears_is_listed_with_error(services, tmp_path):
    [bundled] = [m for m in services.models.list() if m.kind == ModelKind.CHAT]
    link = tmp_path / "gone.gguf"
    link.symlink_to(bundled.path)
    services.models.add(str(link))
    link.unlink()
    gone = [m for m in services.models.list() if m.source == "user"][0]
    assert "not found" in gone.error
    with pytest.raises(ModelError, match="cannot be the default"):
        services.models.set_default_chat_model(gone.id)


def test_settings_validation(services):
    assert services.settings.set("n_ctx", "2048") == 2048
    with pytest.raises(ValidationError, match="between"):
        services.settings.set("n_ctx", 10)
    with pytest.raises(ValidationError, match="Unknown setting"):
        services.settings.set("colour", 1)
    assert services.settings.all()["n_ctx"] == 2048
