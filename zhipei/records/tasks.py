"""Background work for exports: running a job, purging expired files."""

from celery import shared_task

from zhipei.records.services import export_job_run, exports_purge


@shared_task(name="zhipei.records.tasks.run_export")
def run_export(job_id: int) -> str:
    job = export_job_run(job_id=job_id)
    return job.status if job is not None else "skipped"


@shared_task(name="zhipei.records.tasks.purge_exports")
def purge_exports() -> int:
    """Run every hour (celery beat, or cron calling `manage.py exports_purge`)."""
    return exports_purge()
