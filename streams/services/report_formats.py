"""The transparency report written out: CSV (one figure per row, stable columns), a
self-contained HTML page (inline CSS, charts as inline SVG, no script, French or English), and
the short text summary the demo prints. The JSON form is the report document itself
(``streams.services.report``). Columns and fields: ``docs/report.md``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from html import escape
from typing import Any

CSV_COLUMNS = ("scope", "table", "provider", "model", "jurisdiction", "hosting", "currency",
               "measure", "value")
Row = tuple[str, ...]


# ------------------------------------------------------------------------------------ CSV


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _row(scope: str, table: str, measure: str, value: object, *, provider: str = "",
         model: str = "", jurisdiction: str = "", hosting: str = "", currency: str = "") -> Row:
    return (scope, table, provider, model, jurisdiction, hosting, currency, measure,
            _cell(value))


def _scope_rows(scope: str, figures: Mapping[str, Any]) -> Iterator[Row]:
    for measure, value in figures["requests"].items():
        yield _row(scope, "requests", measure, value)
    for u in figures["usage"]:
        where = {"provider": u["provider"], "model": u["model"],
                 "jurisdiction": u["jurisdiction"], "hosting": u["hosting"]}
        for measure in ("answers", "input_tokens", "output_tokens", "estimated", "unpriced"):
            yield _row(scope, "usage", measure, u[measure], **where)
        for currency, amount in u["cost"].items():
            yield _row(scope, "usage", "cost", amount, currency=currency, **where)
    for s in figures["sent"]:
        yield _row(scope, "sent", "requests", s["requests"], provider=s["provider"],
                   jurisdiction=s["jurisdiction"])
    personal = figures["personal"]
    for measure in ("requests", "not_sent", "sent_home_only", "sent_elsewhere",
                    "stayed_home_share"):
        yield _row(scope, "personal", measure, personal[measure],
                   jurisdiction=personal["home_jurisdiction"] or "")
    dependence = figures["dependence"]
    for p in dependence["providers"]:
        for measure in ("answers", "tokens", "traffic_share"):
            yield _row(scope, "dependence", measure, p[measure], provider=p["provider"])
        for currency, spend in p["spend"].items():
            yield _row(scope, "dependence", "spend", spend["amount"], provider=p["provider"],
                       currency=currency)
            yield _row(scope, "dependence", "spend_share", spend["share"],
                       provider=p["provider"], currency=currency)
    yield _row(scope, "dependence", "traffic_hhi", dependence["traffic_hhi"])
    for currency, index in dependence["spend_hhi"].items():
        yield _row(scope, "dependence", "spend_hhi", index, currency=currency)
    for e in figures["exit_readiness"]:
        for measure in ("routed", "still_allowed", "share"):
            yield _row(scope, "exit_readiness", measure, e[measure], provider=e["provider"])
        for other, count in (e["alternatives"] or {}).items():
            yield _row(scope, "exit_readiness", f"moved_to:{other}", count,
                       provider=e["provider"])


def csv_rows(report: Mapping[str, Any]) -> Iterator[Row]:
    """Every figure of ``report``, one per row (:data:`CSV_COLUMNS`); the first rows
    (scope ``report``) say what it was computed from."""
    checkpoint = report["checkpoint"] or {}
    policy = report["policy"]["reference"] or {}
    for measure, value in (("format", report["format"]),
                           ("since", report["period"]["since"]),
                           ("until", report["period"]["until"]),
                           ("tenant", report["period"]["tenant"]),
                           ("computed_from", report["computed_from"]),
                           ("checkpoint_origin", checkpoint.get("origin")),
                           ("checkpoint_size", checkpoint.get("size")),
                           ("checkpoint_root_hash", checkpoint.get("root_hash")),
                           ("policy_sha256", policy.get("sha256")),
                           ("records_read", report["figures"]["records_read"])):
        yield _row("report", "source", measure, value)
    figures = report["figures"]
    yield from _scope_rows("overall", figures["overall"])
    for tenant, scope in figures["tenants"].items():
        yield from _scope_rows(f"tenant:{tenant}", scope)


def to_csv(report: Mapping[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(report))
    return out.getvalue()


# ------------------------------------------------------------------------------- summary


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    """A few lines for a terminal: cost per provider, where data went, dependence."""
    overall = report["figures"]["overall"]
    lines = ["cost per provider (answers, tokens in/out, cost as recorded):"]
    for u in overall["usage"]:
        cost = ", ".join(f"{a} {c}" for c, a in u["cost"].items()) or "unpriced"
        lines.append(f"  {u['provider']} ({u['model']}, {u['jurisdiction']}, {u['hosting']}): "
                     f"{u['answers']} answers, {u['input_tokens']}/{u['output_tokens']} tokens,"
                     f" {cost}")
    sent = ", ".join(f"{s['provider']} ({s['jurisdiction']}) {s['requests']}"
                     for s in overall["sent"]) or "nowhere"
    lines.append(f"where data went (requests sent): {sent}")
    personal = overall["personal"]
    if personal["requests"]:
        lines.append(f"personal requests kept in {personal['home_jurisdiction'] or '?'}: "
                     f"{percent(personal['stayed_home_share'])} of {personal['requests']}")
    dependence = overall["dependence"]
    shares = ", ".join(f"{p['provider']} {percent(p['traffic_share'])}"
                       for p in dependence["providers"])
    if shares:
        lines.append(f"dependence: traffic {shares}; HHI {dependence['traffic_hhi']} of 10000 "
                     f"({dependence['traffic_concentration']} concentration)")
    exits = ", ".join(f"{e['provider']} {percent(e['share'])}"
                      for e in overall["exit_readiness"])
    if exits:
        lines.append(f"exit readiness (share of each provider's traffic the policy would send "
                     f"elsewhere without it): {exits}")
    checkpoint = report["checkpoint"]
    lines.append("computed at signed checkpoint: " + (
        f"{checkpoint['origin']} size {checkpoint['size']} root {checkpoint['root_hash'][:16]}..."
        if checkpoint else "none could be signed"))
    return lines


# ----------------------------------------------------------------------------------- HTML

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Transparency report: cost, data location and dependence",
        "period": "Period", "from": "from {}", "to": "to {}", "start": "from the beginning",
        "now": "to now", "audit log": "audit log", "evidence bundle": "evidence bundle",
        "no_spend": "no spend recorded", "all_tenants": "all tenants", "tenant": "Tenant",
        "source": "Where these figures come from",
        "source_text": "Computed from the signed audit log of douane ({computed_from}). Every "
                       "record counted is covered by the signed checkpoint below: anyone "
                       "holding an evidence bundle of this period can recompute the same "
                       "figures with <code>douane report --bundle</code>.",
        "checkpoint": "Signed checkpoint", "no_checkpoint": "none could be signed",
        "records": "records", "root": "root hash", "policy": "Policy set",
        "records_read": "Audit records read",
        "overview": "At a glance", "requests": "Requests decided", "answered": "Answers",
        "blocked": "Blocked", "rejected": "Rejected", "failed": "Failed (no answer)",
        "tokens": "Tokens (in / out)", "cost": "Cost",
        "cost_title": "What each provider cost",
        "cost_text": "Cost as recorded in each signed answer, from the prices of the policy. "
                     "Tokens marked estimated were counted by douane because the provider "
                     "reported none.",
        "provider": "Provider", "model": "Model", "jurisdiction": "Jurisdiction",
        "hosting": "Hosting", "answers": "Answers", "tokens_in": "Tokens in",
        "tokens_out": "Tokens out", "estimated": "Estimated", "unpriced": "Without price",
        "where_title": "Where the data went",
        "where_text": "Requests sent to each provider (a request that failed over to another "
                      "provider counts for both).",
        "sent": "Requests sent",
        "personal_title": "Personal and sensitive requests",
        "personal_text": "Requests classified personal, sensitive or secret, or in which "
                         "personal data was found. A request stays home if it was sent "
                         "nowhere or only to providers under the law of {home}.",
        "stayed_home": "stayed in {home}", "not_sent": "not sent",
        "sent_home": "sent only within {home}", "sent_elsewhere": "sent outside {home}",
        "no_personal": "No personal or sensitive request in this period.",
        "no_home": "The policy set used names no home jurisdiction: not computed.",
        "dependence_title": "Dependence on each provider",
        "dependence_text": "Share of the answers (traffic) and of the spend per provider. The "
                           "concentration index (Herfindahl-Hirschman) adds up the squared "
                           "shares in percent: 10 000 means a single provider does everything, "
                           "5 000 two equal providers, 2 500 four. Above 1 800 the dependence "
                           "is high, from 1 000 to 1 800 moderate (thresholds of the 2023 US "
                           "Merger Guidelines).",
        "traffic_share": "Share of traffic", "spend_share": "Share of spend",
        "index": "Concentration index", "traffic": "traffic", "spend": "spend",
        "high": "high", "moderate": "moderate", "low": "low",
        "exit_title": "Exit readiness: if a provider disappeared tomorrow",
        "exit_text": "For each provider, the requests the policy sent to it in this period, "
                     "decided again under the policy in force without that provider: the share "
                     "that could still go to another allowed provider. The rest would be "
                     "blocked until a new provider is allowed.",
        "routed": "Requests routed to it", "still": "Could go elsewhere",
        "alternatives": "Where they would go",
        "no_policy": "Not computed: no policy set was available to replay the decisions.",
        "tenants_title": "Per tenant", "none": "none",
        "disagree": "answers whose recorded cost differs from their own usage and price "
                    "(run douane audit verify)",
        "generated": "Generated at", "colon": ": ",
    },
    "fr": {
        "title": "Rapport de transparence : coûts, localisation des données et dépendance",
        "period": "Période", "from": "du {}", "to": "au {}", "start": "depuis le début",
        "now": "jusqu'à maintenant", "audit log": "journal d'audit",
        "evidence bundle": "paquet de preuves", "no_spend": "aucune dépense enregistrée",
        "all_tenants": "tous les services", "tenant": "Service",
        "source": "D'où viennent ces chiffres",
        "source_text": "Calculés à partir du journal d'audit signé de douane ({computed_from}). "
                       "Chaque enregistrement compté est couvert par le point de contrôle signé "
                       "ci-dessous : toute personne disposant d'un paquet de preuves de cette "
                       "période peut recalculer les mêmes chiffres avec "
                       "<code>douane report --bundle</code>.",
        "checkpoint": "Point de contrôle signé", "no_checkpoint": "aucun n'a pu être signé",
        "records": "enregistrements", "root": "empreinte racine",
        "policy": "Politique appliquée", "records_read": "Enregistrements d'audit lus",
        "overview": "En bref", "requests": "Requêtes décidées", "answered": "Réponses",
        "blocked": "Bloquées", "rejected": "Rejetées", "failed": "Échouées (sans réponse)",
        "tokens": "Jetons (entrée / sortie)", "cost": "Coût",
        "cost_title": "Ce qu'a coûté chaque fournisseur",
        "cost_text": "Coût tel qu'enregistré dans chaque réponse signée, selon les prix de la "
                     "politique. Les jetons « estimés » ont été comptés par douane, le "
                     "fournisseur n'en ayant déclaré aucun.",
        "provider": "Fournisseur", "model": "Modèle", "jurisdiction": "Juridiction",
        "hosting": "Hébergement", "answers": "Réponses", "tokens_in": "Jetons en entrée",
        "tokens_out": "Jetons en sortie", "estimated": "Estimés", "unpriced": "Sans prix",
        "where_title": "Où sont allées les données",
        "where_text": "Requêtes envoyées à chaque fournisseur (une requête reprise par un autre "
                      "fournisseur après un échec compte pour les deux).",
        "sent": "Requêtes envoyées",
        "personal_title": "Requêtes personnelles et sensibles",
        "personal_text": "Requêtes classées personnelles, sensibles ou secrètes, ou dans "
                         "lesquelles des données personnelles ont été trouvées. Une requête "
                         "reste sur place si elle n'a été envoyée nulle part, ou seulement à "
                         "des fournisseurs relevant du droit de : {home}.",
        "stayed_home": "restées sous le droit de {home}", "not_sent": "non envoyées",
        "sent_home": "envoyées seulement sous le droit de {home}",
        "sent_elsewhere": "envoyées hors de {home}",
        "no_personal": "Aucune requête personnelle ou sensible sur la période.",
        "no_home": "La politique utilisée ne nomme pas de juridiction de référence : "
                   "non calculé.",
        "dependence_title": "Dépendance envers chaque fournisseur",
        "dependence_text": "Part des réponses (trafic) et des dépenses par fournisseur. "
                           "L'indice de concentration (Herfindahl-Hirschman) additionne les "
                           "carrés des parts en pourcentage : 10 000 signifie qu'un seul "
                           "fournisseur fait tout, 5 000 deux fournisseurs à parts égales, "
                           "2 500 quatre. Au-dessus de 1 800, la dépendance est forte ; de "
                           "1 000 à 1 800, modérée (seuils des Merger Guidelines américaines "
                           "de 2023).",
        "traffic_share": "Part du trafic", "spend_share": "Part des dépenses",
        "index": "Indice de concentration", "traffic": "trafic", "spend": "dépenses",
        "high": "forte", "moderate": "modérée", "low": "faible",
        "exit_title": "Capacité de sortie : si un fournisseur disparaissait demain",
        "exit_text": "Pour chaque fournisseur, les requêtes que la politique lui a envoyées "
                     "sur la période, décidées à nouveau selon la politique en vigueur sans "
                     "ce fournisseur : la part qui pourrait encore aller à un autre "
                     "fournisseur autorisé. Le reste serait bloqué jusqu'à l'autorisation "
                     "d'un nouveau fournisseur.",
        "routed": "Requêtes qui lui ont été envoyées", "still": "Pourraient aller ailleurs",
        "alternatives": "Où elles iraient",
        "no_policy": "Non calculé : aucune politique n'était disponible pour rejouer les "
                     "décisions.",
        "tenants_title": "Par service", "none": "aucun",
        "disagree": "réponses dont le coût enregistré diffère de leur propre consommation et "
                    "de leur prix (lancer douane audit verify)",
        "generated": "Produit le", "colon": "\u00a0: ",
    },
}
# a number written with a space between thousands must not break across lines
for _texts in TEXTS.values():
    for _name, _text in _texts.items():
        _texts[_name] = re.sub(r"(\d) (\d{3})\b", "\\1\u00a0\\2", _text)
LANGUAGES = tuple(TEXTS)

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:62rem;
margin:2rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.45}
h1{font-size:1.6rem;border-bottom:3px solid #000091;padding-bottom:.4rem}
h2{font-size:1.25rem;margin-top:2.2rem;color:#000091}
h3{font-size:1.05rem}
p.note{color:#444;font-size:.95rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.92rem}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f0f0f7}
.cards{display:flex;flex-wrap:wrap;gap:.8rem}
.card{border:1px solid #ccd;border-radius:6px;padding:.6rem 1rem;min-width:9rem}
.card b{display:block;font-size:1.4rem}
.big{font-size:2rem;font-weight:bold;color:#000091}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;
word-break:break-all}
details{margin:.8rem 0;border:1px solid #ddd;border-radius:6px;padding:.4rem .8rem}
summary{font-weight:bold;cursor:pointer}
.warn{color:#b34000}
"""


def bars(items: Sequence[tuple[str, float]], value_text: Sequence[str], colour: str = "#000091",
         width: int = 560) -> str:
    """A horizontal bar chart as inline SVG: one labelled bar per item (values 0 to 1)."""
    if not items:
        return ""
    # about 7.5 px per character at 13 px: the longest label is not cut
    row, text_w = 26, 110
    label_w = max(90, min(width // 2, int(7.5 * max(len(label) for label, _ in items)) + 12))
    bar_w = width - label_w - text_w
    height = row * len(items) + 6
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" viewBox="0 0 {width} {height}" font-size="13" '
             'font-family="system-ui,sans-serif">']
    for i, ((label, value), text) in enumerate(zip(items, value_text, strict=True)):
        y = 3 + i * row
        length = max(0.0, min(1.0, value)) * bar_w
        parts.append(f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">'
                     f'{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{bar_w}" height="18" '
                     'fill="#eeeef6"/>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{length:.1f}" height="18" '
                     f'fill="{colour}"><title>{escape(label)}: {escape(text)}</title></rect>')
        parts.append(f'<text x="{label_w + bar_w + 8}" y="{y + 17}">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _moment(text: str) -> str:
    """A record time for people: the date alone at midnight, else date and time (UTC)."""
    day, _, time = text.partition("T")
    return day if time.startswith("00:00:00.000000") else f"{day} {time[:8]} UTC"


def _number(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}".replace(",", "\u202f")  # narrow no-break space: fine in FR and EN
    return escape(_cell(value)) if value is not None else "-"


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{_number(v)}</td>'
                         if isinstance(v, int | float) and not isinstance(v, bool)
                         else f"<td>{escape(_cell(v)) if v is not None else '-'}</td>"
                         for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _costs(cost: Mapping[str, str]) -> str:
    return ", ".join(f"{amount} {currency}" for currency, amount in cost.items()) or "-"


def _scope_html(figures: Mapping[str, Any], t: Mapping[str, str], level: str) -> str:
    out: list[str] = []
    requests, totals = figures["requests"], figures["totals"]
    cards = [(t["requests"], _number(requests["decided"])),
             (t["answered"], _number(requests["answered"])),
             (t["blocked"], _number(requests["blocked"])),
             (t["rejected"], _number(requests["rejected"])),
             (t["failed"], _number(requests["failed"])),
             (t["tokens"], f"{_number(totals['input_tokens'])} / "
                           f"{_number(totals['output_tokens'])}"),
             (t["cost"], escape(_costs(totals["cost"])))]
    out.append(f"<{level}>{t['overview']}</{level}><div class='cards'>" + "".join(
        f"<div class='card'>{escape(label)}<b>{value}</b></div>" for label, value in cards)
        + "</div>")
    out.append(f"<{level}>{t['cost_title']}</{level}><p class='note'>{t['cost_text']}</p>")
    out.append(_table([t["provider"], t["model"], t["jurisdiction"], t["hosting"], t["answers"],
                       t["tokens_in"], t["tokens_out"], t["estimated"], t["unpriced"],
                       t["cost"]],
                      [[u["provider"], u["model"], u["jurisdiction"], u["hosting"],
                        u["answers"], u["input_tokens"], u["output_tokens"], u["estimated"],
                        u["unpriced"], _costs(u["cost"])] for u in figures["usage"]]))
    out.append(f"<{level}>{t['where_title']}</{level}><p class='note'>{t['where_text']}</p>")
    sent = figures["sent"]
    total_sent = sum(s["requests"] for s in sent)
    by_jurisdiction: dict[str, int] = {}
    for s in sent:
        by_jurisdiction[s["jurisdiction"]] = by_jurisdiction.get(s["jurisdiction"], 0) \
            + s["requests"]
    out.append(bars([(j, n / total_sent) for j, n in sorted(by_jurisdiction.items())],
                    [f"{n} ({percent(n / total_sent)})"
                     for _, n in sorted(by_jurisdiction.items())]) if total_sent else "")
    out.append(_table([t["provider"], t["jurisdiction"], t["sent"]],
                      [[s["provider"], s["jurisdiction"], s["requests"]] for s in sent]))
    out.append(_personal_html(figures["personal"], t, level))
    out.append(_dependence_html(figures["dependence"], t, level))
    out.append(_exit_html(figures["exit_readiness"], t, level))
    return "".join(out)


def _personal_html(personal: Mapping[str, Any], t: Mapping[str, str], level: str) -> str:
    home = escape(personal["home_jurisdiction"] or "?")
    out = [f"<{level}>{t['personal_title']}</{level}>",
           f"<p class='note'>{t['personal_text'].format(home=home)}</p>"]
    if not personal["requests"]:
        out.append(f"<p>{t['no_personal']}</p>")
    elif personal["stayed_home_share"] is None:
        out.append(f"<p>{t['no_home']}</p>")
    else:
        total = personal["requests"]
        out.append(f"<p><span class='big'>{percent(personal['stayed_home_share'])}</span> "
                   f"{t['stayed_home'].format(home=home)} ({total})</p>")
        items = [(t["not_sent"], personal["not_sent"]),
                 (t["sent_home"].format(home=home), personal["sent_home_only"]),
                 (t["sent_elsewhere"].format(home=home), personal["sent_elsewhere"])]
        out.append(bars([(label, n / total) for label, n in items],
                        [f"{n} ({percent(n / total)})" for _, n in items], width=640))
    return "".join(out)


def _dependence_html(dependence: Mapping[str, Any], t: Mapping[str, str], level: str) -> str:
    providers = dependence["providers"]
    out = [f"<{level}>{t['dependence_title']}</{level}>",
           f"<p class='note'>{t['dependence_text']}</p>"]
    if not providers:
        return "".join(out)
    index = dependence["traffic_hhi"]
    level_word = t.get(dependence["traffic_concentration"] or "", "-")
    out.append(f"<p>{t['index']} ({t['traffic']}){t['colon']}"
               f"<span class='big'>{_number(index)}</span> / 10\u00a0000 - "
               f"{escape(level_word)}</p>")
    for currency, value in dependence["spend_hhi"].items():
        word = t.get(dependence["spend_concentration"].get(currency) or "", "-")
        out.append(f"<p>{t['index']} ({t['spend']}, {escape(currency)}){t['colon']}"
                   + (f"<b>{_number(value)}</b> / 10\u00a0000 - {escape(word)}</p>"
                      if value is not None else f"{t['no_spend']}</p>"))
    out.append(f"<h4>{t['traffic_share']}</h4>")
    out.append(bars([(p["provider"], p["traffic_share"] or 0.0) for p in providers],
                    [percent(p["traffic_share"]) for p in providers]))
    currencies = sorted({c for p in providers for c in p["spend"]})
    for currency in currencies:
        spenders = [p for p in providers if currency in p["spend"]]
        if dependence["spend_hhi"].get(currency) is None:
            continue  # nothing spent in it: no share to draw
        out.append(f"<h4>{t['spend_share']} ({escape(currency)})</h4>")
        out.append(bars([(p["provider"], p["spend"][currency]["share"] or 0.0)
                         for p in spenders],
                        [f"{percent(p['spend'][currency]['share'])}" for p in spenders],
                        colour="#6a6af4"))
    return "".join(out)


def _exit_html(exits: Sequence[Mapping[str, Any]], t: Mapping[str, str], level: str) -> str:
    out = [f"<{level}>{t['exit_title']}</{level}>", f"<p class='note'>{t['exit_text']}</p>"]
    if not exits:
        return "".join(out)
    if any(e["share"] is None for e in exits):
        out.append(f"<p class='warn'>{t['no_policy']}</p>")
        return "".join(out)
    out.append(bars([(e["provider"], e["share"] or 0.0) for e in exits],
                    [percent(e["share"]) for e in exits], colour="#18753c"))
    out.append(_table([t["provider"], t["routed"], t["still"], t["alternatives"]],
                      [[e["provider"], e["routed"], e["still_allowed"],
                        ", ".join(f"{p}: {n}" for p, n in e["alternatives"].items())
                        or t["none"]] for e in exits]))
    return "".join(out)


def to_html(report: Mapping[str, Any], language: str = "en") -> str:
    t = TEXTS[language]
    period, checkpoint, policy = report["period"], report["checkpoint"], report["policy"]
    figures = report["figures"]
    scope = period["tenant"] or t["all_tenants"]
    since = t["from"].format(_moment(period["since"])) if period["since"] else t["start"]
    until = t["to"].format(_moment(period["until"])) if period["until"] else t["now"]
    header = (f"<p><b>{t['period']}</b>{t['colon']}{escape(since)} {escape(until)} - "
              f"{escape(scope)}</p>")
    if checkpoint:
        where = (f"{escape(checkpoint['origin'])}, {_number(checkpoint['size'])} "
                 f"{t['records']}, {t['root']} <span class='mono'>"
                 f"{escape(checkpoint['root_hash'])}</span>")
    else:
        where = t["no_checkpoint"]
    reference = policy["reference"]
    source = (f"<h2>{t['source']}</h2><p class='note'>"
              f"{t['source_text'].format(computed_from=t[report['computed_from']])}</p>"
              f"<ul><li><b>{t['checkpoint']}</b>{t['colon']}{where}</li>"
              f"<li><b>{t['policy']}</b>{t['colon']}"
              + (f"{escape(str(reference['name']))} v{escape(str(reference['version']))} "
                 f"(sha256 <span class='mono'>{escape(str(reference['sha256']))}</span>)"
                 if reference else "-")
              + f"<br><span class='note'>{escape(policy['note'])}</span></li>"
              f"<li><b>{t['records_read']}</b>{t['colon']}{_number(figures['records_read'])}</li>"
              f"<li><b>{t['generated']}</b>{t['colon']}{escape(report['generated_at'])}</li></ul>")
    if figures["cost_disagreements"]:
        source += (f"<p class='warn'>{len(figures['cost_disagreements'])} "
                   f"{escape(t['disagree'])}</p>")
    body = [f"<h1>{t['title']}</h1>", header, _scope_html(figures["overall"], t, "h2")]
    if len(figures["tenants"]) > 1 or (figures["tenants"] and not period["tenant"]):
        body.append(f"<h2>{t['tenants_title']}</h2>")
        for tenant, scope_figures in figures["tenants"].items():
            body.append(f"<details><summary>{t['tenant']} {escape(tenant)}</summary>"
                        f"{_scope_html(scope_figures, t, 'h3')}</details>")
    body.append(source)
    return (f"<!DOCTYPE html>\n<html lang=\"{language}\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{t['title']}</title><style>{CSS}</style></head><body>"
            + "".join(body) + "</body></html>\n")
