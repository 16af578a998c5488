from django.urls import path

from zhipei.exams import views

app_name = "exams"
urlpatterns = [
    path("", views.my_exams, name="home"),
    path("<int:exam_id>/", views.take, name="take"),
    path("attempts/<int:attempt_id>/", views.result, name="result"),
    path("api/<int:exam_id>/face/", views.api_face, name="api_face"),
    path("api/<int:exam_id>/start/", views.api_start, name="api_start"),
    path("api/attempts/<int:attempt_id>/", views.api_state, name="api_state"),
    path("api/attempts/<int:attempt_id>/answer/", views.api_answer, name="api_answer"),
    path("api/attempts/<int:attempt_id>/leave/", views.api_leave, name="api_leave"),
    path("api/attempts/<int:attempt_id>/face/", views.api_recheck, name="api_recheck"),
    path("api/attempts/<int:attempt_id>/submit/", views.api_submit, name="api_submit"),
]
