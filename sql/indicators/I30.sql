-- I30 负面信用事件：司法公信: latest-state credit_event rows with 领域 司法公信, 性质 not 正面, 是否主动处理 否 and
-- 事件日期 in the last 12 months (a count); the shared definition is wh.negative_credit_events.
SELECT * FROM wh.negative_credit_events(%(month)s, %(window_start)s, %(month_end)s, '司法公信')
