import io

import pytest
from django.core.files import File
from django.urls import reverse

from conftest import client_for
from zhipei.courses.models import Chapter, Lesson
from zhipei.courses.services import lesson_create_with_video
from zhipei.lib.video import generate_lesson_video

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_lesson_duration_is_read_from_the_video(personas, media, tmp_path):
    path = tmp_path / "l.mp4"
    generate_lesson_video(path, seconds=3, width=320, height=180)
    chapter = Chapter.objects.create(course=personas.course, title="第一章")
    with path.open("rb") as fh:
        lesson = lesson_create_with_video(
            chapter=chapter, title="第一讲", video=File(fh, name="l.mp4"), by=personas.admin
        )
    assert lesson.duration_seconds == 3
    assert (media / lesson.video.name).exists()
    body = (
        client_for(personas.admin)
        .get(reverse("console:course_detail", args=[personas.course.pk]))
        .content.decode()
    )
    assert "第一讲" in body and "3 秒" in body


def test_a_file_that_is_not_a_video_is_refused_and_nothing_saved(personas, media):
    chapter = Chapter.objects.create(course=personas.course, title="第一章")
    with pytest.raises(ValueError, match="无法读取视频时长"):
        lesson_create_with_video(
            chapter=chapter,
            title="坏文件",
            video=File(io.BytesIO(b"not a video"), name="x.mp4"),
            by=personas.admin,
        )
    assert not Lesson.objects.exists()
    assert not (media / "lessons").exists()


def test_courses_are_scoped_to_the_institution(personas):
    assert "电工基础" in client_for(personas.admin).get(reverse("console:courses")).content.decode()
    assert (
        "电工基础"
        not in client_for(personas.other_admin).get(reverse("console:courses")).content.decode()
    )
