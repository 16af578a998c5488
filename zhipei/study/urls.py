from django.urls import path

from zhipei.study import views

app_name = "study"
urlpatterns = [
    path("", views.my_study, name="home"),
    path("records/", views.my_records, name="records"),
    path("lessons/<int:lesson_id>/", views.player, name="player"),
    path("api/lessons/<int:lesson_id>/sessions/", views.api_start, name="api_start"),
    path("api/sessions/<int:session_id>/heartbeat/", views.api_heartbeat, name="api_heartbeat"),
    path("api/sessions/<int:session_id>/face/", views.api_face, name="api_face"),
    path("api/sessions/<int:session_id>/quiz/", views.api_quiz, name="api_quiz"),
    path("api/sessions/<int:session_id>/activity/", views.api_activity, name="api_activity"),
    path("api/sessions/<int:session_id>/end/", views.api_end, name="api_end"),
]
