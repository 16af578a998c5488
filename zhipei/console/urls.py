from django.urls import path

from zhipei.accounts.views import staff_login
from zhipei.console import (
    catalogue_views,
    exam_views,
    face_views,
    live_views,
    results_views,
    trainee_records_views,
    views,
)
from zhipei.console import records_views as records_views

app_name = "console"
urlpatterns = [
    path("login/", staff_login, {"face": "console"}, name="login"),
    path("", views.home, name="home"),
    path("trainees/", views.trainees, name="trainees"),
    path("trainees/<int:pk>/", views.trainee_detail, name="trainee_detail"),
    path("trainees/<int:pk>/reveal/", views.trainee_reveal, name="trainee_reveal"),
    path("trainees/<int:pk>/face/", face_views.trainee_face, name="trainee_face"),
    path("trainees/<int:pk>/non-face/", face_views.non_face_check, name="trainee_non_face"),
    path("faces/attempts/<int:pk>/image/", face_views.face_evidence, name="face_evidence"),
    path("faces/reviews/", face_views.face_reviews, name="face_reviews"),
    path(
        "faces/templates/<int:pk>/<str:action>/",
        face_views.face_template_decide,
        name="face_template_decide",
    ),
    path("courses/", views.courses, name="courses"),
    path("courses/new/", catalogue_views.course_new, name="course_new"),
    path("courses/<int:pk>/chapters/new/", catalogue_views.chapter_new, name="chapter_new"),
    path("courses/<int:pk>/lessons/new/", catalogue_views.lesson_new, name="lesson_new"),
    path("courses/<int:pk>/questions/new/", catalogue_views.question_new, name="question_new"),
    path("classes/", catalogue_views.classes, name="classes"),
    path("classes/new/", catalogue_views.class_new, name="class_new"),
    path(
        "classes/template.xlsx", catalogue_views.class_sheet_template, name="class_sheet_template"
    ),
    path("classes/<int:pk>/", catalogue_views.class_detail, name="class_detail"),
    path("courses/<int:pk>/", views.course_detail, name="course_detail"),
    path("institution/", views.institution, name="institution"),
    path("exams/<int:pk>/results/", results_views.exam_results, name="exam_results"),
    path(
        "exams/<int:pk>/results.<str:fmt>",
        results_views.exam_results_export,
        name="exam_results_export",
    ),
    path("classes/<int:pk>/results/", results_views.class_results, name="class_results"),
    path(
        "classes/<int:pk>/results.<str:fmt>",
        results_views.class_results_export,
        name="class_results_export",
    ),
    # The question bank, papers and exams.
    path("questions/", exam_views.questions, name="questions"),
    path("questions/new/", exam_views.bank_question_new, name="bank_question_new"),
    path("questions/<int:pk>/", exam_views.question_edit, name="question_edit"),
    path("questions/<int:pk>/retire/", exam_views.question_retire, name="question_retire"),
    path("questions/import/", exam_views.questions_import, name="questions_import"),
    path("questions/template.xlsx", exam_views.questions_template, name="questions_template"),
    path("questions/export.xlsx", exam_views.questions_export, name="questions_export"),
    path("papers/", exam_views.papers, name="papers"),
    path("papers/new/fixed/", exam_views.paper_new_fixed, name="paper_new_fixed"),
    path("papers/new/random/", exam_views.paper_new_random, name="paper_new_random"),
    path("papers/<int:pk>/", exam_views.paper_detail, name="paper_detail"),
    path("exams/", exam_views.exams, name="exams"),
    path("exams/new/", exam_views.exam_new, name="exam_new"),
    path("exams/<int:pk>/", exam_views.exam_detail, name="exam_detail"),
    # The live monitor: who is studying right now.
    path("live/", live_views.live, name="live"),
    path("live/data/", live_views.live_data, name="live_data"),
    # A trainee's learning record, their 一人一档 dossier, trainees from Excel.
    path(
        "trainees/<int:pk>/records/",
        trainee_records_views.trainee_records,
        name="trainee_records",
    ),
    path(
        "trainees/<int:pk>/dossier.zip",
        trainee_records_views.trainee_dossier,
        name="trainee_dossier",
    ),
    path("trainees/import/", trainee_records_views.trainees_import, name="trainees_import"),
    path(
        "trainees/template.xlsx",
        trainee_records_views.trainees_template,
        name="trainees_template",
    ),
    # 学习记录导出: the form, background jobs with progress, downloads for the requester only.
    path("records/exports/", records_views.exports, name="exports"),
    path("records/exports/start/", records_views.export_start_view, name="export_start"),
    path("records/exports/<int:pk>/", records_views.export_job, name="export_job"),
    path(
        "records/exports/<int:pk>/status/",
        records_views.export_job_status,
        name="export_job_status",
    ),
    path(
        "records/exports/<int:pk>/download/",
        records_views.export_download,
        name="export_download",
    ),
]
