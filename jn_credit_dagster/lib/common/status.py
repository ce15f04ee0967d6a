"""An indicator's status (INDICATORS.md "Status"), its Chinese label, and which ones are below target."""

GREEN, YELLOW, RED, NA = "green", "yellow", "red", "n/a"
STATUSES = (GREEN, YELLOW, RED, NA)
STATUS_ZH = {GREEN: "绿", YELLOW: "黄", RED: "红", NA: "无数据"}
BELOW_TARGET = (RED, YELLOW)  # the early warnings, worst first
