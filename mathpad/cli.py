"""The `mathpad` command: the window by default, recognition and rendering in a terminal.

Heavy modules are imported inside the commands, so `mathpad --version` and `--help` answer
at once. Exit codes: 0 success, 1 a failure (one line on stderr that names the file and
what to do), 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mathpad import __version__
from mathpad.model.store import DEFAULT_REPO, DEFAULT_VARIANT, PAD_VARIANT, VARIANTS

if TYPE_CHECKING:
    from PIL import Image

    from mathpad.history import History
    from mathpad.ink.strokes import Ink
    from mathpad.model.engine import Recognition
    from mathpad.recognizer import JoinStyle, PageResult, Recognizer


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="mathpad: %(message)s")
    from mathpad.errors import MathpadError

    try:
        return int(args.run(args))
    except MathpadError as error:
        print(f"mathpad: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mathpad", description="Handwritten math to LaTeX, on your own machine."
    )
    parser.add_argument("--version", action="version", version=f"mathpad {__version__}")
    parser.set_defaults(run=_gui, model=None, variant=None, revision=None)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    gui = commands.add_parser("gui", help="open the handwriting pad (the default)")
    _model_options(gui, variant=None)  # None: the variant saved in the pad's settings
    gui.set_defaults(run=_gui)

    recognize = commands.add_parser("recognize", help="print the LaTeX of images or InkML files")
    _model_options(recognize)
    recognize.add_argument("inputs", nargs="+", metavar="FILE", help="image or .inkml file")
    recognize.add_argument(
        "--max-length", type=_max_length, default=None, metavar="N",
        help="most tokens per expression, start token included (default 128)",
    )  # fmt: skip
    recognize.add_argument(
        "--decode", choices=("auto", "plain"), default="auto",
        help="plain: the published decoder graph as is, for exact checks (slow)",
    )  # fmt: skip
    recognize.add_argument(
        "--page", action="store_true",
        help="treat each image like a page: trim, invert dark mode, split lines, chunk long ones",
    )  # fmt: skip
    recognize.add_argument(
        "--join", choices=("lines", "aligned"), default="lines",
        help="how several expressions of one page are joined (default: lines)",
    )  # fmt: skip
    recognize.add_argument(
        "--alternatives", type=_count, default=0, metavar="K",
        help="add the K best other readings (beam search) to each JSON record",
    )  # fmt: skip
    recognize.add_argument(
        "--save-pieces", type=Path, default=None, metavar="DIR",
        help="for pages (--page, .inkml): save what the model saw for each piece as DIR/NAME-N.png",
    )  # fmt: skip
    recognize.add_argument("--json", action="store_true", help="one JSON object per line")
    recognize.set_defaults(run=_recognize)

    render = commands.add_parser("render", help="save the image the model sees for an ink")
    render.add_argument("ink", type=Path, metavar="INK.inkml")
    render.add_argument("output", type=Path, metavar="OUT.png")
    render.add_argument("--layout", choices=("3:2", "tight"), default="3:2")
    render.add_argument(
        "--height", type=_height, default=None, metavar="PX",
        help="draw the whole ink this tall instead of scaling its symbols as in training",
    )  # fmt: skip
    render.set_defaults(run=_render)

    model = commands.add_parser("model", help="download or describe the model")
    model_commands = model.add_subparsers(title="model commands", metavar="ACTION", required=True)
    download = model_commands.add_parser("download", help="fetch one variant into the cache")
    _model_options(download)
    download.set_defaults(run=_download)
    info = model_commands.add_parser("info", help="describe a downloaded model")
    _model_options(info)
    info.set_defaults(run=_info)
    _cache_commands(commands)
    _add_model_check_commands(model_commands)
    _add_history_commands(commands)
    return parser


def _cache_commands(commands: argparse._SubParsersAction) -> None:
    cache = commands.add_parser("cache", help="manage mathpad's own caches")
    actions = cache.add_subparsers(title="cache commands", metavar="ACTION", required=True)
    clear = actions.add_parser("clear", help="remove the derived decoder graphs and saved copies")
    clear.set_defaults(run=_cache_clear)


def _cache_clear(args: argparse.Namespace) -> int:
    """Everything under the graph cache goes; the next start derives again (seconds)."""
    from mathpad.model.derive import clear_cache
    from mathpad.model.store import graph_cache_dir

    folder = graph_cache_dir()
    try:
        freed = clear_cache(folder)
    except OSError as error:
        print(f"mathpad: cannot clear {folder}: {error.strerror or error}", file=sys.stderr)
        return 1
    print(f"removed {freed / 1e6:.1f} MB from {folder}")
    return 0


def _max_length(text: str) -> int:
    value = int(text) if text.strip().lstrip("-").isdigit() else 0
    if value < 2:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a length: give a whole number of at least 2 (the start token counts)"
        )
    return value


def _count(text: str) -> int:
    value = int(text) if text.strip().isdigit() else 0
    if not 1 <= value <= 16:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count: give a whole number 1 to 16")
    return value


def _model_options(parser: argparse.ArgumentParser, variant: str | None = DEFAULT_VARIANT) -> None:
    parser.add_argument(
        "--model", default=None, metavar="DIR_OR_REPO",
        help=f"a model folder in the hub layout, or a hub repo id (default {DEFAULT_REPO})",
    )  # fmt: skip
    parser.add_argument(
        "--variant", choices=tuple(VARIANTS), default=variant,
        help=f"weights to use (default {variant or PAD_VARIANT}; fp32 gives exactly the "
        "reference's tokens, int8 is 2.3x faster from a quarter of the download)",
    )  # fmt: skip
    parser.add_argument("--revision", default=None, help="a hub branch, tag or commit to pin")


def _gui(args: argparse.Namespace) -> int:
    from mathpad.ui.app import run_gui

    return run_gui(model=args.model, variant=args.variant, revision=args.revision)


def _download(args: argparse.Namespace) -> int:
    from mathpad.model.store import download_model

    folder = download_model(args.model, args.variant, revision=args.revision)
    print(folder)
    return 0


def _info(args: argparse.Namespace) -> int:
    from mathpad.recognizer import Recognizer

    recognizer = Recognizer(args.model, args.variant, revision=args.revision, synchronous=True)
    info = recognizer.load().result()
    engine = recognizer.engine
    settings = engine.settings
    rows = {
        "model": info.name,
        "folder": str(engine.files.root),
        "variant": info.variant,
        "encoder": f"{engine.files.encoder.name} ({engine.files.encoder.stat().st_size:,} bytes)",
        "decoder": f"{engine.files.decoder.name} ({engine.files.decoder.stat().st_size:,} bytes)",
        "decoding": info.decoder,
        "start / end / pad token": (
            f"{settings.decoder_start_token_id} / {settings.eos_token_ids} / "
            f"{settings.pad_token_id}"
        ),
        "max length": str(settings.max_length),
        "load time": f"{info.load_seconds:.2f} s",
    }
    width = max(map(len, rows))
    for key, value in rows.items():
        print(f"{key:<{width}}  {value}")
    return 0


def _height(text: str) -> float:
    from mathpad.imaging.raster import MAX_RENDER_SIDE

    refusal = f"{text!r} is not a height: give a number of pixels from 1 to {MAX_RENDER_SIDE}"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(refusal) from None
    if not 1 <= value <= MAX_RENDER_SIDE:  # false for nan too
        raise argparse.ArgumentTypeError(refusal)
    return value


def _render(args: argparse.Namespace) -> int:
    from mathpad.files import save_image
    from mathpad.imaging.raster import render_ink
    from mathpad.ink.inkml import read_inkml

    ink = read_inkml(args.ink)
    save_image(render_ink(ink, target_height=args.height, layout=args.layout), args.output)
    return 0


def _recognize(args: argparse.Namespace) -> int:
    """One record per input, in input order, printed as soon as its batch is done."""
    from mathpad.errors import MathpadError
    from mathpad.model.engine import MAX_BATCH
    from mathpad.recognizer import Recognizer

    recognizer = Recognizer(
        args.model,
        args.variant,
        decode=args.decode,
        revision=args.revision,
        synchronous=True,
        local_files_only=False,
        max_length=args.max_length,
    )
    failed = False
    batch: list[tuple[str, Image.Image]] = []
    for name in args.inputs:
        page = args.page or Path(name).suffix.lower() == ".inkml"
        if page or len(batch) == MAX_BATCH:
            failed |= _emit_images(recognizer, batch, args)  # before waiting on the next file
            batch = []
        try:
            item = _load(Path(name))
            if page:
                _emit(_page_record(recognizer, name, item, args), args)
            else:
                batch.append((name, item))  # type: ignore[arg-type]  # not .inkml: an image
        except MathpadError as error:
            if not _is_input_error(error):
                raise
            _error(error)
            failed = True
    failed |= _emit_images(recognizer, batch, args)
    return 1 if failed else 0


def _load(path: Path) -> Image.Image | Ink:
    if path.suffix.lower() == ".inkml":
        from mathpad.ink.inkml import read_inkml

        return read_inkml(path)
    from mathpad.imaging.loading import load_image

    return load_image(path)


def _is_input_error(error: Exception) -> bool:
    from mathpad.errors import InputError

    return isinstance(error, InputError)


def _error(error: Exception) -> None:
    print(f"mathpad: error: {error}", file=sys.stderr, flush=True)


def _emit(record: dict[str, object], args: argparse.Namespace) -> None:
    line = json.dumps(record, ensure_ascii=False) if args.json else str(record["text"])
    print(line, flush=True)


def _emit_images(
    recognizer: Recognizer, batch: list[tuple[str, Image.Image]], args: argparse.Namespace
) -> bool:
    """Recognize plain images as one batch and print their records; True if one failed.

    A batch that fails is retried image by image, so one bad input loses no other.
    """
    from mathpad.errors import InputError

    if not batch:
        return False
    try:
        results = recognizer.recognize_images([image for _, image in batch])
    except InputError as error:
        if len(batch) == 1:
            _error(InputError(f"{batch[0][0]}: {error}"))
            return True
        return any([_emit_images(recognizer, [item], args) for item in batch])
    for (name, image), result in zip(batch, results, strict=True):
        _emit(_image_record(recognizer, name, image, result, args), args)
    return False


def _one_line(text: str, join: JoinStyle) -> str:
    """A page's text on one line: expressions joined by ` \\ `, an aligned block's rows too."""
    return " \\\\ ".join(text.splitlines()) if join == "lines" else " ".join(text.splitlines())


def _image_record(
    recognizer: Recognizer,
    name: str,
    image: Image.Image,
    result: Recognition,
    args: argparse.Namespace,
) -> dict[str, object]:
    """An image as the reference sees it: its exact decode, tokens and their probabilities."""
    from mathpad.recognizer import PageResult

    page = PageResult(None, (result.latex.strip(),), (result,), result.seconds, (image,), (1,))
    record: dict[str, object] = {
        "path": name,
        "latex": result.latex,  # exactly batch_decode(skip_special_tokens=True)
        "text": page.text(),
        "token_ids": list(result.token_ids),
        "token_probs": [round(p, 6) for p in result.token_probs],
        "draft_accepted": result.draft_accepted,
        "decoder": result.decoder,
        "seconds": round(result.seconds, 4),
    }
    return record | _alternatives(recognizer, page, args)


def _page_record(
    recognizer: Recognizer, name: str, item: Image.Image | Ink, args: argparse.Namespace
) -> dict[str, object]:
    from PIL import Image

    page = (
        recognizer.recognize_image(item)
        if isinstance(item, Image.Image)
        else recognizer.recognize_ink(item)
    )
    if args.save_pieces is not None:
        from mathpad.imaging.pieces import save_pieces

        save_pieces(args.save_pieces, page.images, Path(name).stem)
    record: dict[str, object] = {
        "path": name,
        "latex": page.text(args.join),
        "text": _one_line(page.text(args.join), args.join),
        "expressions": list(page.expressions),
        "token_ids": [list(p.token_ids) for p in page.pieces],
        "token_probs": [[round(t, 6) for t in p.token_probs] for p in page.pieces],
        "draft_accepted": [p.draft_accepted for p in page.pieces],
        "decoder": next((p.decoder for p in page.pieces), None),
        "seconds": round(page.seconds, 4),
    }
    return record | _alternatives(recognizer, page, args)


def _alternatives(
    recognizer: Recognizer, page: PageResult, args: argparse.Namespace
) -> dict[str, object]:
    """`alternatives` for the record when asked: other readings, best first, with scores."""
    if not args.alternatives:
        return {}
    found = recognizer.alternatives(page, k=args.alternatives, width=max(4, args.alternatives))
    return {"alternatives": [{"latex": text, "score": round(score, 4)} for text, score in found]}


def _add_model_check_commands(model_commands: argparse._SubParsersAction) -> None:
    verify = model_commands.add_parser("verify", help="compare the cached files with the hub")
    _model_options(verify)
    verify.set_defaults(run=_verify)
    repair = model_commands.add_parser("repair", help="download the damaged files again")
    _model_options(repair)
    repair.set_defaults(run=_repair)


def _verify(args: argparse.Namespace) -> int:
    from mathpad.model.store import repair_hint, verify_model

    model = args.model or DEFAULT_REPO
    checks = verify_model(model, args.variant, revision=args.revision)
    for check in checks:
        state = "ok" if check.ok and check.path else "absent" if check.ok else "DAMAGED"
        if check.path is None and not check.ok:
            state = "missing"
        print(f"{state:<8} {check.name}")
    if all(check.ok for check in checks):
        return 0
    print(f"mathpad: error: {repair_hint(model, args.variant)}", file=sys.stderr)
    return 1


def _repair(args: argparse.Namespace) -> int:
    from mathpad.model.store import repair_model

    repaired = repair_model(args.model, args.variant, revision=args.revision)
    for name in repaired:
        print(f"downloaded again: {name}")
    if not repaired:
        print("every file matches the hub's hashes: nothing to repair")
    return 0


def _add_history_commands(commands: argparse._SubParsersAction) -> None:
    history = commands.add_parser("history", help="list, show, export or clear past readings")
    actions = history.add_subparsers(title="history commands", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the newest readings, one line each")
    listing.add_argument("search", nargs="?", default="", help="only readings with this LaTeX")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    listing.set_defaults(run=_history_list)
    show = actions.add_parser("show", help="everything stored for one reading")
    show.add_argument("id", type=int)
    show.set_defaults(run=_history_show)
    export = actions.add_parser("export", help="write readings as files (InkML, PNG, JSON)")
    export.add_argument("folder", type=Path, metavar="DIR")
    export.add_argument(
        "--corrections", action="store_true",
        help="only ink whose copied LaTeX differs from the reading, as MathWriting InkML",
    )  # fmt: skip
    export.set_defaults(run=_history_export)
    clear = actions.add_parser("clear", help="delete every reading")
    clear.set_defaults(run=_history_clear)


def _open_history() -> History:
    from mathpad.history import History

    history = History()
    if history.notice:
        print(f"mathpad: warning: {history.notice}", file=sys.stderr)
    return history


def _history_list(args: argparse.Namespace) -> int:
    import time

    for reading in _open_history().search(args.search, limit=args.limit):
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(reading.created))
        copied = f"  (copied: {reading.latex_copied})" if reading.corrected else ""
        print(f"{reading.id:>6}  {when}  {reading.latex_shown}{copied}")
    return 0


def _history_show(args: argparse.Namespace) -> int:
    import time

    from mathpad.errors import InputError

    reading = _open_history().get(args.id)
    if reading is None:
        raise InputError(f"no reading {args.id} in the history: see 'mathpad history list'")
    rows = {
        "id": str(reading.id),
        "time": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(reading.created)),
        "model": f"{reading.model} ({reading.variant})",
        "shown": reading.latex_shown,
        "copied": reading.latex_copied or "",
        "alternatives": " | ".join(reading.alternatives),
        "ink": f"{len(reading.ink_inkml):,} bytes of InkML" if reading.ink_inkml else "none",
        "image": f"{len(reading.image_png):,} bytes of PNG",
    }
    for key, value in rows.items():
        print(f"{key:<12}  {value}")
    return 0


def _history_export(args: argparse.Namespace) -> int:
    count = _open_history().export(args.folder, corrections_only=args.corrections)
    print(f"{count} readings written to {args.folder}")
    return 0


def _history_clear(args: argparse.Namespace) -> int:
    _open_history().clear()
    return 0


if __name__ == "__main__":
    sys.exit(main())
