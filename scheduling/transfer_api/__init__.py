"""REST endpoints for transfers and workloads: ``serializers`` (and filters), ``views``."""

from scheduling.transfer_api.views import TransferViewSet, WorkloadViewSet

__all__ = ["TransferViewSet", "WorkloadViewSet"]
