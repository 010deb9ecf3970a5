"""comments family: paths in the template's comments name files that exist."""

from __future__ import annotations

from pathlib import Path

from mlops.policies.comments import RULES, comment_paths
from policy_helpers import check, make_context
from template_defects import names, only_error, reintroduce, template, validate

(COMMENTS,) = RULES
NOTEBOOK = "base/workbench/notebook.yaml"


# --- comment-paths --------------------------------------------------------------------------------


def test_template_comment_naming_a_file_that_does_not_exist(tmp_path: Path) -> None:
    repo = template(tmp_path)
    line = reintroduce(repo, NOTEBOOK, "base/argocd/applicationset-environments.yaml",
                       "base/argocd/applicationset.yaml")
    code, findings = validate(repo)
    finding = only_error(findings, "comment-paths")
    assert code == 1 and (finding["file"], finding["line"]) == (NOTEBOOK, line)
    assert names(finding).startswith("Notebook/") and names(finding).endswith("/mlops-workbench")
    assert "base/argocd/applicationset.yaml" in finding["message"]


def test_template_comment_in_mlops_yaml(tmp_path: Path) -> None:
    repo = template(tmp_path)
    line = reintroduce(repo, "mlops.yaml", "base/argocd/applicationset-environments.yaml",
                       "base/argocd/platform-application.yaml")
    _code, findings = validate(repo, "argocd")
    finding = only_error(findings, "comment-paths")
    assert (finding["file"], finding["line"], finding["object"]) == ("mlops.yaml", line, None)


def test_paths_in_comments_only() -> None:
    text = ("key: base/not-a-comment.yaml  # see base/a.yaml and https://x.example/base/b.yaml\n"
            "# upstream internal/controller/core/secret_controller.go, and models/*/model.yaml\n"
            "run: |\n  echo '#' ../c/d.sh  # quoted: not a comment\n    # but this is: ../c/e.sh\n")
    assert list(comment_paths(text)) == [(1, "base/a.yaml"), (5, "../c/e.sh")]


def test_paths_of_other_projects_and_folder_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "base" / "monitoring" / "rules").mkdir(parents=True)
    (tmp_path / "base" / "monitoring" / "rules" / "alerts.yaml").write_text("groups: []\n", encoding="utf-8")
    (tmp_path / "base" / "monitoring" / "kustomization.yaml").write_text(
        "# rules/alerts.yaml is the plain copy; see also ../../docs/missing.md\n"
        "# odh-dashboard packages/k8s-core/src/connectionTypeUtils.ts; config/samples/x.yaml\n"
        "# and base/monitoring/rules/alerts.yaml, base/monitoring/rules/gone.yaml\n", encoding="utf-8")
    findings = check(COMMENTS, make_context(tmp_path, {"dev": []}))
    assert [(f.line, f.message.split(" names ")[1].split(",")[0]) for f in findings] == [
        (1, "../../docs/missing.md"), (3, "base/monitoring/rules/gone.yaml")]
