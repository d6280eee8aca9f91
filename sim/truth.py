"""Ground truth: one TruthEvent per injected anomaly, published when it starts."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from iocsim.contract import TRUTH, AnomalyDetails, TruthEvent
from iocsim.sim.profiles import Profile
from iocsim.sim.scenario import (
    ANOMALY_KINDS_BY_FEED,
    CAMERA_KINDS,
    CORRELATED,
    CORRELATED_FEEDS,
    PORTAL,
    PROVINCE,
    Anomaly,
    Scenario,
)


class TruthFeed:
    """Labels the anomalies of a scenario that the run can show, with the district and commune they affect.

    An anomaly on a feed or camera left out of the run is not labelled: no
    detector could see it, so scoring it as missed would be unfair.
    """

    topic = TRUTH

    def __init__(
        self,
        profile: Profile,
        scenario: Scenario,
        feeds: Collection[str] = tuple(ANOMALY_KINDS_BY_FEED),
        camera_ids: Collection[str] | None = None,
    ) -> None:
        self.profile = profile
        self.scenario = scenario
        self.kinds = frozenset(kind for feed in feeds for kind in ANOMALY_KINDS_BY_FEED[feed])
        if all(feed in feeds for feed in CORRELATED_FEEDS):
            self.kinds |= {CORRELATED}
        self.camera_ids = None if camera_ids is None else frozenset(camera_ids)

    def _shown(self, anomaly: Anomaly) -> bool:
        if anomaly.kind not in self.kinds or anomaly.start >= self.scenario.end:
            return False
        if self.camera_ids is None:
            return True
        if anomaly.kind == CORRELATED:
            return anomaly.params.get("camera") in self.camera_ids
        return anomaly.kind not in CAMERA_KINDS or anomaly.entity_id in self.camera_ids

    def events(self) -> Iterator[TruthEvent]:
        ordered = sorted(enumerate(self.scenario.anomalies), key=lambda item: (item[1].start, item[0]))
        for index, anomaly in ordered:
            if not self._shown(anomaly):
                continue
            district, commune = self._place(anomaly)
            yield TruthEvent(
                event_id=f"truth-{self.scenario.name}-{index:04d}",
                entity_id=anomaly.entity_id,
                district=district,
                commune=commune,
                event_time=anomaly.start,
                payload=AnomalyDetails(
                    kind=anomaly.kind,  # type: ignore[arg-type]
                    start=anomaly.start,
                    end=anomaly.end,
                    scenario=self.scenario.name,
                    params=anomaly.params,
                ),
            )

    def _place(self, anomaly: Anomaly) -> tuple[str, str | None]:
        profile = self.profile
        entity = anomaly.entity_id
        if anomaly.kind == CORRELATED:
            return entity, str(anomaly.params.get("commune"))
        if entity in profile.camera_by_id:
            camera = profile.camera_by_id[entity]
            return camera.district, camera.commune
        if entity in profile.district_of_commune:
            return profile.district_of_commune[entity], entity
        if entity in profile.district_by_id:
            return entity, None
        if entity in profile.office_by_id:
            return profile.office_by_id[entity].district or PROVINCE, None
        if entity == PORTAL:
            return PROVINCE, None
        return "unknown", None
