"""The export page in a real Chromium under the strict CSP: a small export downloads straight
from the form; a job's page polls its status, moves the progress bar and shows the download
link when the file is ready."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from conftest import close_browser, logged_in_page
from zhipei.records.models import ExportJob
from zhipei.records.services import export_job_run
from zhipei.records.tests.helpers import read_csv

pytestmark = pytest.mark.django_db(transaction=True)


def _errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("response", lambda r: r.status >= 400 and errors.append(f"{r.status} {r.url}"))
    return errors


def test_form_download_and_job_progress(chromium_path, live_server, records, personas):
    with sync_playwright() as pw:
        browser, page = logged_in_page(
            pw, chromium_path, live_server, personas.admin, viewport=(1280, 900)
        )
        try:
            errors = _errors(page)
            page.goto(f"{live_server.url}/console/records/exports/")
            page.select_option("#id_exporter", "summary")
            page.select_option("#id_format", "csv")
            page.select_option("#id_training_class", str(records.training_class.pk))
            with page.expect_download() as download:
                page.click(".export-form button[type=submit]")
            assert download.value.suggested_filename.startswith("学习记录汇总-")
            with open(download.value.path(), "rb") as f:
                rows = read_csv(f.read())
            assert [r[0] for r in rows[1:]] == ["张三", "王五"]

            job = ExportJob.objects.create(
                institution=personas.inst_a,
                requested_by=personas.admin,
                exporter="detail",
                format="csv",
                params={"class": records.training_class.pk},
                rows_total=10,
            )
            page.goto(f"{live_server.url}/console/records/exports/{job.pk}/")
            assert page.locator("[data-export-ready]").is_hidden()
            assert page.locator("[data-export-label]").inner_text() == "排队中"
            export_job_run(job_id=job.pk)  # what the worker does meanwhile
            page.locator("[data-export-ready]").wait_for(state="visible", timeout=10_000)
            assert page.locator("[data-export-label]").inner_text() == "已完成"
            assert page.locator("[data-export-progress]").evaluate("p => p.value") == 100
            assert page.locator("[data-export-rows]").inner_text() == "10"
            with page.expect_download() as download:
                page.click("[data-export-link]")
            assert download.value.suggested_filename.startswith("学习记录明细-")
            assert errors == []
        finally:
            close_browser(browser)
