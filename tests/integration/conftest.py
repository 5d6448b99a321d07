import pytest
from enforcer.emulator import Emulator
@pytest.fixture
def emulator():
    with Emulator() as emu:
        yield emu
