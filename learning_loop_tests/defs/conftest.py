import pytest

from learning_loop.defs.resources import LearningLoopDatabase


@pytest.fixture
def resources(database_url):
    return {"learning_loop_db": LearningLoopDatabase(database_url=database_url)}
