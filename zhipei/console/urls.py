from django.urls import path

from zhipei.accounts.views import staff_login
from zhipei.console import views

app_name = "console"
urlpatterns = [
    path("login/", staff_login, {"face": "console"}, name="login"),
    path("", views.home, name="home"),
    path("trainees/", views.trainees, name="trainees"),
    path("trainees/<int:pk>/", views.trainee_detail, name="trainee_detail"),
    path("trainees/<int:pk>/reveal/", views.trainee_reveal, name="trainee_reveal"),
    path("courses/", views.courses, name="courses"),
    path("courses/<int:pk>/", views.course_detail, name="course_detail"),
    path("institution/", views.institution, name="institution"),
]
