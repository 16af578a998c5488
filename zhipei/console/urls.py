from django.urls import path

from zhipei.accounts.views import staff_login
from zhipei.console import face_views, views

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
    path("courses/<int:pk>/", views.course_detail, name="course_detail"),
    path("institution/", views.institution, name="institution"),
]
