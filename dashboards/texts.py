"""Every word a dashboard shows, in Vietnamese (the operators' language) and English, in one table.

Builders ask for a key; adding a language means adding one column here,
never a second copy of a dashboard. Units with words are Grafana custom
units (``suffix:``), so they translate like titles; numeric units (``s``,
``percentunit``) are the same in every language.
"""

from __future__ import annotations

from collections.abc import Mapping

from iocsim.dashboards.errors import UnknownLanguage, UnknownText

LANGS: tuple[str, ...] = ("vi", "en")

TABLE: Mapping[str, tuple[str, str]] = {
    # dashboards
    "overview.title": ("Trung tâm IOC Điện Biên: tổng quan", "Điện Biên IOC: overview"),
    "cameras.title": ("Camera an ninh", "Security cameras"),
    "reports.title": ("Phản ánh hiện trường", "Citizen field reports"),
    "services.title": ("Dịch vụ công", "Public services"),
    "pipeline.title": ("Sức khỏe luồng dữ liệu", "Pipeline health"),
    # variables
    "var.datasource": ("Nguồn dữ liệu", "Data source"),
    "var.district": ("Huyện", "District"),
    "var.office": ("Bộ phận một cửa", "Office"),
    # annotations
    "ann.critical": ("Cảnh báo nghiêm trọng", "Critical alerts"),
    "ann.warning": ("Cảnh báo", "Warning alerts"),
    "ann.info": ("Thông báo", "Info alerts"),
    # rows
    "row.kpis": ("Chỉ số chính", "Key figures"),
    "row.map": ("Bản đồ và cảnh báo", "Map and alerts"),
    "row.trends": ("Diễn biến", "Trends"),
    "row.status": ("Trạng thái", "Status"),
    "row.cameras": ("Danh sách camera", "Camera list"),
    "row.queues": ("Hàng chờ", "Queues"),
    "row.dossiers": ("Hồ sơ", "Dossiers"),
    "row.feeds": ("Luồng dữ liệu", "Feeds"),
    "row.detection": ("Phát hiện", "Detection"),
    "row.webhooks": ("Gửi webhook", "Webhook delivery"),
    "row.load": ("Kiểm thử tải", "Load harness"),
    # panels
    "p.cameras_online_pct": ("Tỷ lệ camera trực tuyến", "Cameras online (%)"),
    "p.reports_today": ("Phản ánh hôm nay", "Reports today"),
    "p.wait_p50": ("Thời gian chờ trung vị", "Median queue wait"),
    "p.wait_p90": ("Thời gian chờ p90", "p90 queue wait"),
    "p.on_time": ("Hồ sơ đúng hạn", "Dossiers on time"),
    "p.firing_by_severity": ("Cảnh báo đang kích hoạt", "Firing alerts"),
    "p.camera_map": ("Bản đồ camera", "Camera map"),
    "p.firing_table": ("Cảnh báo đang kích hoạt lúc này", "Alerts firing now"),
    "p.events_per_feed": ("Sự kiện mỗi giây theo luồng", "Events per second by feed"),
    "p.firing_by_kind": ("Cảnh báo đang kích hoạt theo loại", "Firing alerts by kind"),
    "p.cameras_online": ("Camera trực tuyến", "Cameras online"),
    "p.cameras_offline": ("Camera mất tín hiệu", "Cameras offline"),
    "p.cameras_tampered": ("Camera bị can thiệp", "Cameras tampered"),
    "p.cameras_by_status": ("Camera theo trạng thái", "Cameras by status"),
    "p.camera_table": ("Trạng thái từng camera", "Each camera's status"),
    "p.camera_rate": ("Quan sát camera mỗi giây", "Camera observations per second"),
    "p.camera_alerts": ("Cảnh báo camera đang kích hoạt", "Firing camera alerts"),
    "p.reports_rate": ("Phản ánh mỗi giờ", "Reports per hour"),
    "p.report_alerts": ("Cảnh báo phản ánh đang kích hoạt", "Firing report alerts"),
    "p.reports_by_category": ("Phản ánh theo lĩnh vực", "Reports by category"),
    "p.reports_by_district": ("Phản ánh theo huyện", "Reports by district"),
    "p.reports_range_by_category": ("Tổng phản ánh theo lĩnh vực", "Reports in range by category"),
    "p.queue_now": ("Người đang chờ", "People waiting"),
    "p.queue_by_office": ("Người chờ theo bộ phận", "People waiting by office"),
    "p.counters_by_office": ("Quầy đang mở theo bộ phận", "Counters open by office"),
    "p.wait_quantiles": ("Thời gian chờ (p50, p90)", "Queue wait (p50, p90)"),
    "p.tickets_called": ("Lượt gọi số mỗi giờ", "Tickets called per hour"),
    "p.on_time_by_office": ("Tỷ lệ hồ sơ đúng hạn theo bộ phận", "Dossiers on time by office"),
    "p.service_alerts": ("Cảnh báo dịch vụ công đang kích hoạt", "Firing public-service alerts"),
    "p.consumer_lag": ("Độ trễ tiêu thụ theo chủ đề", "Consumer lag by topic"),
    "p.dead_letters": ("Thư lỗi mỗi giây", "Dead letters per second"),
    "p.detector_errors": ("Lỗi bộ phát hiện (trong khoảng)", "Detector errors (in range)"),
    "p.detection_latency": ("Độ trễ phát hiện (giờ mô phỏng)", "Detection latency (sim time)"),
    "p.processing_latency": ("Độ trễ xử lý cảnh báo (p90)", "Alert processing latency (p90)"),
    "p.alert_transitions": ("Chuyển trạng thái cảnh báo mỗi giây", "Alert transitions per second"),
    "p.webhook_deliveries": ("Lượt gửi webhook theo kết quả", "Webhook deliveries by outcome"),
    "p.webhook_attempts": ("Lượt thử HTTP theo mã", "HTTP attempts by status class"),
    "p.webhook_latency": ("Độ trễ gửi webhook", "Webhook delivery latency"),
    "p.webhook_dead_letters": ("Thư lỗi webhook (trong khoảng)", "Webhook dead letters (in range)"),
    "p.webhook_in_flight": ("Cảnh báo đang chờ gửi", "Transitions in flight"),
    "p.load_rates": ("Tải: sự kiện mỗi giây", "Load: events per second"),
    "p.load_latency": ("Tải: độ trễ p99 theo phép đo", "Load: p99 latency by measure"),
    "p.load_behind": ("Tải: chậm so với lịch", "Load: behind schedule"),
    "p.load_errors": ("Tải: lỗi mỗi giây", "Load: errors per second"),
    # column headers and legends
    "col.kind": ("Loại", "Kind"),
    "col.severity": ("Mức độ", "Severity"),
    "col.firing": ("Đang kích hoạt", "Firing"),
    "col.camera": ("Camera", "Camera"),
    "col.district": ("Huyện", "District"),
    "col.status": ("Trạng thái", "Status"),
    "legend.p50": ("trung vị", "median"),
    "legend.offered": ("theo lịch", "offered"),
    "legend.sent": ("đã gửi", "sent"),
    "legend.acked": ("đã xác nhận", "acked"),
    # camera states
    "state.offline": ("mất tín hiệu", "offline"),
    "state.online": ("trực tuyến", "online"),
    "state.tampered": ("bị can thiệp", "tampered"),
    # units with words
    "unit.reports": ("suffix: phản ánh", "suffix: reports"),
    "unit.reports_per_hour": ("suffix: phản ánh/giờ", "suffix: reports/h"),
    "unit.alerts": ("suffix: cảnh báo", "suffix: alerts"),
    "unit.cameras": ("suffix: camera", "suffix: cameras"),
    "unit.people": ("suffix: người", "suffix: people"),
    "unit.counters": ("suffix: quầy", "suffix: counters"),
    "unit.tickets_per_hour": ("suffix: lượt/giờ", "suffix: tickets/h"),
    "unit.events_per_second": ("suffix: sự kiện/giây", "suffix: events/s"),
    "unit.messages": ("suffix: tin nhắn", "suffix: messages"),
    "unit.per_second": ("suffix: /giây", "suffix: /s"),
    "unit.errors": ("suffix: lỗi", "suffix: errors"),
}


class Texts:
    """The words of one language; ``texts("p.reports_today")`` is the panel title in that language."""

    def __init__(self, lang: str) -> None:
        if lang not in LANGS:
            raise UnknownLanguage(lang, LANGS)
        self.lang = lang
        self._column = LANGS.index(lang)

    def __call__(self, key: str) -> str:
        entry = TABLE.get(key)
        if entry is None:
            raise UnknownText(key)
        return entry[self._column]
