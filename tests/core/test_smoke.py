from asll.models import Role


def test_world_builds(world):
    assert world.loire.tenant.code == "42"
    assert world.orne.users[Role.PRESCRIBER].email == "prescriber.61@test.asll.fr"
