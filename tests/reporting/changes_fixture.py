"""A small hand-built history for the pipeline-changes reports, written through pipeline.services.

Period 2019-Q1 (no Maven deal is open or closes then). The window is the whole quarter: the state at
2019-01-01 00:00 UTC against the state at 2019-04-01 00:00 UTC. Every deal is created with
``upsert_opportunities`` (creation history dated at ``created_on``) and changed with it at explicit times
(``now=``), so the history is the one the services write.

Deals (owner: rep1 or rep2, both reporting to the manager), and what the waterfall must make of them:

==  ====  ==================================================================  =================================
id  rep   story                                                               categories (amount)
==  ====  ==================================================================  =================================
A   1     in start 1000.10 (close 02-15), amount -> 1500.35 on 01-20         increased 500.25; end 1500.35
B   2     in start 2000.00 (03-10), amount -> 1200.50 on 02-01                decreased 799.50; end 1200.50
C   1     close 2018-12-20 pushed to 03-20 on 2018-12-01 (before); in start   increased 500.00, pushed out
          3000.00; on 02-10 close -> 05-15 and amount -> 3500.00              3500.00; pushes 1 in window, 2 all
D   2     in start 4000.00 (01-31), amount -> 4200.00 on 01-25, won 01-28     increased 200.00, won 4200.00
E   1     in start 500.55 (02-01), pushed to 02-28 on 01-05, lost 02-20       lost 500.55; pushes 1
F   2     created 02-05 with close 03-25, 700.70                              new 700.70; end
G   1     created 01-10 with close 06-30 (outside), 800.00, won 03-05         new 800.00 + won 800.00
H   2     close 05-01 (outside) pulled to 03-01 on 01-15, 900.00              pulled in 900.00; end
I   1     in start 1100.00 (02-10), pushed to 04-20 on 02-01, back to 03-15   none (start and end); pushes 1
          on 03-01
J   2     in start 1300.00 (03-05), moved to 2018-12-28 on 01-10              pulled out 1300.00
K   1     in start 150.00 (01-20), close date removed on 01-18                pushed out 150.00
L   2     in start 250.25 (03-30), no change                                  none (start and end)
M   1     close 07-01, open, no change                                        none (not in the pipeline)
N   1     won 2018-12-15                                                      none (closed before)
O   2     close 05-05, pulled to 02-20 on 01-20, pushed to 05-30 on 02-25     none (joined and left: listed in the
                                                                          deals, unchanged); pushes 1
P   1     close 04-10 (outside), 600.00, won 02-14                            pulled in + won 600.00
Q   2     created 01-05 with close 02-05, 350.00, lost 02-06                  new + lost 350.00
R   1     close 01-15, lost 2018-12-01, reopened 01-20, 450.00                pulled in 450.00; end
T   2     in start 100.00 (01-01), won at 2019-01-01 00:00 exactly            won 100.00 (in the window)
U   1     in start 75.25 (03-31), won at 2019-04-01 00:00 exactly             none (after the window); end
V   2     close 05-01 (outside), 650.00, won at 2019-01-01 00:00 exactly      pulled in + won 650.00
W   1     created 2019-01-01 (00:00, the start instant), close 02-20, 120.00  new 120.00; end
==  ====  ==================================================================  =================================
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

PERIOD = "2019-Q1"
MANAGER, REP1, REP2 = "pc.manager", "pc.rep1", "pc.rep2"

# The waterfall of the manager (both reps), by hand from the table above: (deals, amount).
EXPECTED = {
    "start": (11, Decimal("13476.15")),
    "new": (4, Decimal("1970.70")),
    "pulled_in": (4, Decimal("2600.00")),
    "increased": (3, Decimal("1200.25")),
    "decreased": (1, Decimal("799.50")),
    "pushed_out": (2, Decimal("3650.00")),
    "pulled_out": (1, Decimal("1300.00")),
    "won": (5, Decimal("6350.00")),
    "lost": (2, Decimal("850.55")),
    "end": (9, Decimal("6297.05")),
}
# Rep 1 alone.
EXPECTED_REP1 = {
    "start": (6, Decimal("5825.90")),
    "new": (2, Decimal("920.00")),
    "pulled_in": (2, Decimal("1050.00")),
    "increased": (2, Decimal("1000.25")),
    "decreased": (0, Decimal("0.00")),
    "pushed_out": (2, Decimal("3650.00")),
    "pulled_out": (0, Decimal("0.00")),
    "won": (2, Decimal("1400.00")),
    "lost": (1, Decimal("500.55")),
    "end": (5, Decimal("3245.60")),
}
# The deals report: category per deal (deals left out did not move), pushes (window, all history).
EXPECTED_DEALS = {
    "A": ("increased", 0, 0), "B": ("decreased", 0, 0), "C": ("increased+pushed_out", 1, 2),
    "D": ("increased+won", 0, 0), "E": ("lost", 1, 1), "F": ("new", 0, 0), "G": ("new+won", 0, 0),
    "H": ("pulled_in", 0, 0), "I": ("unchanged", 1, 1), "J": ("pulled_out", 0, 0), "K": ("pushed_out", 0, 0),
    "O": ("unchanged", 1, 1), "P": ("pulled_in+won", 0, 0), "Q": ("new+lost", 0, 0), "R": ("pulled_in", 0, 0),
    "T": ("won", 0, 0), "V": ("pulled_in+won", 0, 0), "W": ("new", 0, 0),
}


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def at(text: str) -> dt.datetime:
    """An instant in UTC: ``2019-01-20`` is 10:00 that day; a full ISO text is taken as it is."""
    if "T" not in text:
        text += "T10:00"
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


class Builder:
    def __init__(self) -> None:
        from revcast.org.models import User
        from revcast.pipeline.models import Stage

        self.stages = {s.name: s for s in Stage.objects.all()}
        self.manager = User.objects.create(username=MANAGER, role=User.Role.MANAGER)
        self.reps = {
            1: User.objects.create(username=REP1, role=User.Role.REP, manager=self.manager),
            2: User.objects.create(username=REP2, role=User.Role.REP, manager=self.manager),
        }
        self.values: dict[str, dict[str, Any]] = {}

    def _write(self, values: dict[str, Any], now: dt.datetime) -> None:
        from revcast.pipeline.services import OpportunityRow, upsert_opportunities

        upsert_opportunities([OpportunityRow(dict(values))], source="test:pipeline-changes", now=now)

    def create(self, key: str, rep: int, created: str, close: str | None, amount: str,
               stage: str = "Engaging") -> None:
        values = {
            "external_id": f"pc-{key}", "name": f"Deal {key}", "owner": self.reps[rep],
            "stage": self.stages[stage], "amount": Decimal(amount), "currency": "USD",
            "created_on": d(created), "engaged_on": d(created),
            "expected_close_on": d(close) if close else None,
            "closed_on": d(created) if stage in ("Won", "Lost") else None,
        }
        self.values[key] = values
        self._write(values, at(created))

    def change(self, key: str, when: str, **changes: Any) -> None:
        values = self.values[key]
        for name, value in changes.items():
            if name == "stage":
                values["stage"] = self.stages[value]
                values["closed_on"] = at(when).date() if value in ("Won", "Lost") else None
                values["probability"] = self.stages[value].probability
                values["forecast_category"] = None
            elif name == "amount":
                values["amount"] = Decimal(value)
            elif name == "close":
                values["expected_close_on"] = d(value) if value else None
        self._write(values, at(when))


def build() -> Builder:
    b = Builder()
    b.create("A", 1, "2018-11-01", "2019-02-15", "1000.10")
    b.change("A", "2019-01-20", amount="1500.35")
    b.create("B", 2, "2018-11-01", "2019-03-10", "2000.00")
    b.change("B", "2019-02-01", amount="1200.50")
    b.create("C", 1, "2018-11-01", "2018-12-20", "3000.00")
    b.change("C", "2018-12-01", close="2019-03-20")
    b.change("C", "2019-02-10", close="2019-05-15", amount="3500.00")
    b.create("D", 2, "2018-11-01", "2019-01-31", "4000.00")
    b.change("D", "2019-01-25", amount="4200.00")
    b.change("D", "2019-01-28", stage="Won")
    b.create("E", 1, "2018-11-01", "2019-02-01", "500.55")
    b.change("E", "2019-01-05", close="2019-02-28")
    b.change("E", "2019-02-20", stage="Lost")
    b.create("F", 2, "2019-02-05", "2019-03-25", "700.70")
    b.create("G", 1, "2019-01-10", "2019-06-30", "800.00")
    b.change("G", "2019-03-05", stage="Won")
    b.create("H", 2, "2018-11-01", "2019-05-01", "900.00")
    b.change("H", "2019-01-15", close="2019-03-01")
    b.create("I", 1, "2018-11-01", "2019-02-10", "1100.00")
    b.change("I", "2019-02-01", close="2019-04-20")
    b.change("I", "2019-03-01", close="2019-03-15")
    b.create("J", 2, "2018-11-01", "2019-03-05", "1300.00")
    b.change("J", "2019-01-10", close="2018-12-28")
    b.create("K", 1, "2018-11-01", "2019-01-20", "150.00")
    b.change("K", "2019-01-18", close=None)
    b.create("L", 2, "2018-11-01", "2019-03-30", "250.25")
    b.create("M", 1, "2018-11-01", "2019-07-01", "333.33")
    b.create("N", 1, "2018-12-15", "2018-12-15", "444.44", stage="Won")
    b.create("O", 2, "2018-11-01", "2019-05-05", "555.55")
    b.change("O", "2019-01-20", close="2019-02-20")
    b.change("O", "2019-02-25", close="2019-05-30")
    b.create("P", 1, "2018-11-01", "2019-04-10", "600.00")
    b.change("P", "2019-02-14", stage="Won")
    b.create("Q", 2, "2019-01-05", "2019-02-05", "350.00")
    b.change("Q", "2019-02-06", stage="Lost")
    b.create("R", 1, "2018-11-01", "2019-01-15", "450.00")
    b.change("R", "2018-12-01", stage="Lost")
    b.change("R", "2019-01-20", stage="Engaging")
    b.create("T", 2, "2018-11-01", "2019-01-01", "100.00")
    b.change("T", "2019-01-01T00:00", stage="Won")
    b.create("U", 1, "2018-11-01", "2019-03-31", "75.25")
    b.change("U", "2019-04-01T00:00", stage="Won")
    b.create("V", 2, "2018-11-01", "2019-05-01", "650.00")
    b.change("V", "2019-01-01T00:00", stage="Won")
    b.create("W", 1, "2019-01-01", "2019-02-20", "120.00")
    return b
