"""The three endpoints the benchmark compares, at taskhub's paths (no trailing slash)."""

from django.urls import path
from tasks.views import TaskDetail, TaskList

urlpatterns = [
    path("api/v1/tasks", TaskList.as_view()),
    path("api/v1/tasks/<uuid:pk>", TaskDetail.as_view()),
]
