-- I30 负面信用事件：司法公信, explained: each latest-state credit_event row of 领域 司法公信, 性质 not 正面, 是否主动处理 否,
-- 事件日期 in the last 12 months counts; every other credit_event row with the reason
-- (wh.explain_negative_credit_events, shared by I27–I30).
SELECT * FROM wh.explain_negative_credit_events(%(month)s, %(window_start)s, %(month_end)s, '司法公信')
