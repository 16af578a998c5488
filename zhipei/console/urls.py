from django.urls import path

from zhipei.accounts.views import staff_login
from zhipei.console import catalogue_views, face_views, views

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
]
