"""The report's style sheet (inline in the page: no fonts or files are fetched)."""

CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --bg: #f5f7fa; --accent: #2563eb;
  --ok: #0f766e; --warn: #b45309; --bad: #b91c1c; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.wrap { max-width: 1120px; margin: 0 auto; padding: 0 24px; }
header { background: #111827; color: #f9fafb; padding: 22px 0 0; }
header h1 { margin: 0; font-size: 24px; font-weight: 600; letter-spacing: .2px; }
header .sub { margin: 4px 0 14px; color: #cbd2d9; font-size: 14px; }
nav { display: flex; gap: 4px; flex-wrap: wrap; }
nav a { color: #e4e7eb; text-decoration: none; padding: 8px 12px; font-size: 13px;
  border-radius: 6px 6px 0 0; }
nav a:hover { background: #1f2937; color: #fff; }
main { padding-top: 8px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px;
  padding: 18px 22px 20px; margin: 18px 0; box-shadow: 0 1px 2px rgba(0,0,0,.03); }
h2 { margin: 0 0 12px; font-size: 18px; font-weight: 600; }
p.intro { margin: -6px 0 14px; color: var(--muted); font-size: 14px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 6px 0 10px; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
thead th { background: #f0f4f8; font-weight: 600; color: #323f4b; }
tbody tr:nth-child(even) td { background: #fafbfc; }
table.compare td:not(:first-child), table.compare th:not(:first-child),
table.epochs td, table.epochs th { text-align: right; font-variant-numeric: tabular-nums; }
table.compare { max-width: 640px; }
table.epochs { max-width: 640px; }
table.pairs th { width: 180px; color: var(--muted); font-weight: 500; background: none; }
table.pairs td { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px;
  word-break: break-word; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px;
  margin-bottom: 14px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px;
  background: #fbfcfe; }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .6px; }
.card .v { font-size: 24px; font-weight: 600; margin: 2px 0; font-variant-numeric: tabular-nums; }
.card .s { color: var(--muted); font-size: 13px; }
p.note { color: var(--muted); font-size: 13px; margin: 4px 0; }
figure { margin: 10px 0 18px; }
.gallery { display: flex; flex-wrap: wrap; gap: 0 24px; align-items: flex-start; }
.gallery figure { flex: 0 1 auto; max-width: 100%; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px;
  display: block; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 6px; }
p.missing { color: var(--warn); font-size: 14px; }
p.ok { color: var(--ok); font-weight: 500; margin: 0; }
p.banner { margin: 0 0 14px; padding: 10px 14px; border-radius: 6px; font-weight: 500;
  border-left: 4px solid var(--warn); background: #fffaf0; }
p.banner.bad { border-color: var(--bad); background: #fef2f2; }
p.banner.info { border-color: var(--accent); background: #eff6ff; }
p.banner.ok { border-color: var(--ok); background: #f0fdfa; color: var(--ok); }
ul.findings { list-style: none; padding: 0; margin: 0; }
li.finding { border-left: 4px solid var(--warn); background: #fffaf0; padding: 10px 14px;
  margin: 0 0 10px; border-radius: 0 6px 6px 0; }
li.finding.bad { border-color: var(--bad); background: #fef2f2; }
li.finding.info { border-color: var(--accent); background: #eff6ff; }
li.finding p { margin: 6px 0 0; font-size: 14px; }
.badge { display: inline-block; font-size: 11px; text-transform: uppercase; letter-spacing: .5px;
  padding: 1px 8px; border-radius: 10px; background: var(--warn); color: #fff; }
li.finding.bad .badge { background: var(--bad); }
li.finding.info .badge { background: var(--accent); }
.label { display: inline-block; min-width: 72px; color: var(--muted); font-size: 12px;
  text-transform: uppercase; letter-spacing: .5px; }
.graph { overflow: auto; max-height: 900px; border: 1px solid var(--line); border-radius: 6px; }
.graph svg { display: block; max-width: 100%; height: auto; }
details summary { cursor: pointer; color: var(--accent); font-size: 14px; margin: 4px 0; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
footer { color: var(--muted); font-size: 13px; padding: 10px 24px 40px; }
"""
