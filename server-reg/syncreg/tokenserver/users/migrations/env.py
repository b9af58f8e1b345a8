from alembic import context

from synccore.migrations import run_env

run_env(context)
