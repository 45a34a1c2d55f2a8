import logging, sys
from airflow_provider_genesys.hooks.genesys_cloud import GenesysCloudHook

def test_probe(caplog, capsys):
    caplog.set_level(logging.DEBUG)
    h = GenesysCloudHook()
    h.log.warning("probe %s", "x")
    h.log.debug("dbg %s", "y")
    out = capsys.readouterr()
    print("CAPLOG", [r.getMessage() for r in caplog.records], file=sys.stderr)
    print("OUT", repr(out.out), repr(out.err), file=sys.stderr)
    import tests.conftest as c
    print("MODS", [m for m in sys.modules if 'conftest' in m], file=sys.stderr)
    assert 0
