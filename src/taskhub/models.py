"""Every ORM model, imported in one place so metadata (and Alembic) sees all tables."""

from taskhub.auth.models import RefreshToken, User
from taskhub.projects.models import Project, ProjectMember, Role
from taskhub.tasks.models import Task

__all__ = ["Project", "ProjectMember", "RefreshToken", "Role", "Task", "User"]
