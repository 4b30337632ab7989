"""Takes the Knowledge screenshots: run it under a display, e.g. `xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python
resources/screenshots/take_knowledge_screenshots.py`. It builds Studio on a temp home, creates two knowledge bases,
and grabs the list, the documents view mid-ingestion, the chunk viewer, retrieval testing, the metadata and settings
tabs and a cited chat answer."""

from __future__ import annotations

import sys
from pathlib import Path


from studio.core.app_config import default_config
from studio.core.entities import AppMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from take_screenshots import in_window, pause, wait  # noqa: E402 - a sibling script, not a package

HERE = Path(__file__).resolve().parent
CITIES = {
    "Paris": ("France", "the Seine", "the Eiffel Tower", "croissants"),
    "Rome": ("Italy", "the Tiber", "the Colosseum", "carbonara"),
    "Lisbon": ("Portugal", "the Tagus", "the Belém Tower", "pastéis de nata"),
    "Vienna": ("Austria", "the Danube", "Schönbrunn Palace", "Sachertorte"),
    "Prague": ("Czechia", "the Vltava", "Charles Bridge", "trdelník"),
    "Berlin": ("Germany", "the Spree", "the Brandenburg Gate", "currywurst"),
}


def guide(city: str, facts: tuple[str, str, str, str], paragraphs: int) -> str:
    country, river, sight, food = facts
    parts = [f"# {city} travel guide\n"]
    for n in range(paragraphs):
        parts.append(f"{city} is the capital of {country}. The city lies on {river}, and most visitors start with "
                     f"{sight}. Day {n + 1} of a longer stay could include a walk along {river}, a museum in the "
                     f"morning and {food} in the afternoon. Trams and buses run late, and a weekly pass is cheap.\n")
    return "\n".join(parts)


def write_guides(folder: Path, paragraphs: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for city, facts in CITIES.items():
        path = folder / f"{city.lower()}-guide.md"
        path.write_text(guide(city, facts, paragraphs), encoding="utf-8")
        paths.append(path)
    return paths


def seed(services, root: Path):
    small = services.knowledge.create("City notes", description="Short notes on European capitals.",
                                      chunk_size=300, overlap=30)
    services.knowledge.add(small.id, write_guides(root / "notes", 3))
    services.knowledge.ingest(small.id)
    manual = services.knowledge.create("Product manual", description="The user manual of our coffee machine, "
                                       "chapter by chapter.")
    big = services.knowledge.create("Travel guides", description="Long city guides for the travel bot.",
                                    chunk_size=200, overlap=20)
    europe, travel, support = (services.knowledge.create_tag(n) for n in ("europe", "travel", "support"))
    for dataset, tags in ((small, [europe, travel]), (big, [europe, travel]), (manual, [support])):
        services.knowledge.bind_tags([t.id for t in tags], dataset.id)
    cfg = default_config(AppMode.CHAT, "You are a travel guide. Answer in one sentence.")
    cfg["model"]["completion_params"].update(temperature=0.0, max_tokens=40)
    cfg["dataset_configs"] = {"retrieval_model": "multiple",
                              "datasets": {"datasets": [{"dataset": {"enabled": True, "id": small.id}}]}}
    bot = services.apps.create("Travel guide", "chat", icon="🌍", icon_background="#E0F2FE", config=cfg)
    return small, big, bot


def empty_and_create(window, out: Path) -> None:
    page = window.knowledge_page
    window.show_page("knowledge")
    wait(lambda: page.loaded_once)
    pause(200)
    window.grab().save(str(out / "knowledge-empty.png"))
    dialog = page.create_dataset()
    dialog.name.setText("Product manual")
    dialog.overlap.setValue(600)
    dialog.accept()
    wait(lambda: dialog.error.isVisible())
    pause(300)
    dialog.grab().save(str(out / "knowledge-create.png"))
    dialog.reject()


def shoot(window, services, root: Path, out: Path) -> None:
    empty_and_create(window, out)
    small, big, bot = seed(services, root)
    page = window.knowledge_page
    page.refresh()
    wait(lambda: page.loaded_once and page.list_view.grid.count() == 3)
    pause(300)
    window.grab().save(str(out / "knowledge-list.png"))
    tags = page.edit_tags(next(d for d in page.datasets if d.id == small.id))
    wait(lambda: tags.list.count() == 3)
    pause(300)
    tags.grab().save(str(out / "knowledge-tags.png"))
    tags.reject()
    page.open_dataset(next(d for d in page.datasets if d.id == big.id))
    page.add_paths([str(p) for p in write_guides(root / "guides", 40)])
    wait(lambda: big.id in page.jobs and page.jobs[big.id].last is not None
         and page.jobs[big.id].last.phase == "embedding" and page.jobs[big.id].last.chunks_done > 0)
    pause(250)
    window.grab().save(str(out / "knowledge-documents.png"))
    wait(lambda: not page.jobs[big.id].running)
    page.open_dataset(next(d for d in services.knowledge.list() if d.id == small.id))
    view = page.view
    wait(lambda: view.documents.table.rowCount() == len(CITIES))
    view.documents.table.selectRow(0)
    view.documents.chunks_requested.emit(view.documents.selected_document())
    wait(lambda: bool(view.chunks.cards))
    pause(300)
    window.grab().save(str(out / "knowledge-chunks.png"))
    dialog = view.chunks.edit(view.chunks.cards[1].segment)
    pause(300)
    dialog.grab().save(str(out / "knowledge-chunk-editor.png"))
    dialog.reject()
    view.close_chunks()
    view.tabs.setCurrentIndex(1)
    view.retrieval.query.setText("Which river flows through Lisbon?")
    view.retrieval.search()
    wait(lambda: bool(view.retrieval.cards) and not view.retrieval.busy)
    pause(300)
    window.grab().save(str(out / "knowledge-retrieval.png"))
    metadata_tab(view, services, out)
    settings_tab(view, out)
    cited_chat(window, bot, out)


def tab(view, name: str) -> None:
    view.tabs.setCurrentIndex([view.tabs.tabText(i) for i in range(view.tabs.count())].index(name))


def metadata_tab(view, services, out: Path) -> None:
    """The Metadata tab: a declared field with values on some documents, one document's values in the form."""
    knowledge, dataset = services.knowledge, view.dataset
    field = knowledge.add_metadata_field(dataset.id, "country", "string")
    year = knowledge.add_metadata_field(dataset.id, "updated", "time")
    docs = knowledge.documents(dataset.id)
    knowledge.set_document_metadata(dataset.id, [
        (d.id, [{"id": field.id, "value": CITIES[d.name.split("-")[0].title()][0]},
                {"id": year.id, "value": "2026-11-0%d" % (n + 1)}], True) for n, d in enumerate(docs[:4])])
    tab(view, "Metadata")
    panel = view.metadata
    panel.refresh()
    wait(lambda: panel.loaded and len(panel.fields) == 2)
    panel.table.selectRow(0)
    pause(300)
    view.window().grab().save(str(out / "knowledge-metadata.png"))


def settings_tab(view, out: Path) -> None:
    """The Settings tab with an unsaved change, so the indicator shows."""
    tab(view, "Settings")
    panel = view.settings
    wait(lambda: panel.dataset is not None and panel.reranker.count() >= 1 and not panel.saving)
    pause(300)
    panel.weight.setValue(60)
    pause(200)
    view.window().grab().save(str(out / "knowledge-settings.png"))
    panel.discard()


def cited_chat(window, bot, out: Path) -> None:
    window.show_page("studio")
    editor = window.studio_page.open_app(bot)
    finished = []
    editor.debug.answer_finished.connect(finished.append)
    editor.debug.send("What can I see in Rome?")
    wait(lambda: bool(finished))
    bubble = editor.debug.answer_bubbles()[-1]
    if bubble.citations.chips:
        bubble.citations.chips[0].click()
    pause(300)
    window.grab().save(str(out / "chat-citations.png"))


def main() -> int:
    return in_window(lambda window, services, args, home, _: shoot(window, services, home / "docs", args.out),
                     __doc__, HERE)


if __name__ == "__main__":
    sys.exit(main())
