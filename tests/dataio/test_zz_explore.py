import shutil
def test_explore(maven, maven_dir, maven_mapping_path, tmp_path):
    from revcast.dataio import mapping
    from revcast.dataio.runner import run_import
    m = mapping.load(maven_mapping_path)
    e = tmp_path/"empty"; e.mkdir()
    r = run_import(e, m); print("empty", r.status, r.counts, list(r.issues.values_list("file","reason")))
    d = tmp_path/"d"; shutil.copytree(maven_dir, d)
    p = d/"sales_pipeline.csv"
    b = p.read_bytes()
    b = b[:len(b)-30]
    p.write_bytes(b)
    r = run_import(d, m); print("trunc", r.status, r.counts["opportunities"], list(r.issues.values_list("file","row","field","value","reason")))
    p.write_bytes(b + b"\r\nNEW1,Moses Frase,GTX Basic,,Won,2017-01-01,2017-02-01,123456789012345678901234567890\r\n")
    try:
        r = run_import(d, m); print("huge", r.status, r.counts["opportunities"], list(r.issues.values_list("file","row","field","value","reason")))
    except Exception as exc:
        print("huge raised", type(exc), exc)
