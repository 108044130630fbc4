"""Point the demo at cloudsim: its seed (one region per CloudRegion, one project per
allocation), a clouds.yaml with one cloud per region, and the demo's VM offerings."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from cloudsim.seed import write_demo_files
from provisioning.models import Offering
from tenants import access_memory
from tenants.models import Allocation, CloudRegion

SERVICE_PASSWORD = "portal-service-demo"  # the simulator's own account, not a real secret

OFFERINGS = [
    ("Small Linux server", "small-linux", "m1.small", "debian-12", 90,
     "Debian 12 with 1 vCPU and 2 GiB: web front ends, jump hosts."),
    ("Medium Linux server", "medium-linux", "m1.medium", "debian-12", None,
     "Debian 12 with 2 vCPUs and 4 GiB: application servers."),
    ("Large Linux server", "large-linux", "m1.large", "debian-12", None,
     "Debian 12 with 4 vCPUs and 8 GiB: databases and build agents."),
    ("Test instance", "test-instance", "m1.tiny", "cirros-0.6.2", 7,
     "A tiny CirrOS VM for network tests; leased for a week."),
]  # fmt: skip


class Command(BaseCommand):
    help = "Write cloudsim's seed and a clouds.yaml matching the portal's regions; add offerings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", required=True, help="where cloudsim will listen")
        parser.add_argument("--seed", required=True, help="path of the seed YAML to write")
        parser.add_argument("--clouds-yaml", required=True, help="path of the clouds.yaml")

    def handle(self, *args, base_url: str, seed: str, clouds_yaml: str, **options) -> None:
        regions = list(CloudRegion.objects.order_by("slug"))
        allocations = list(Allocation.objects.exclude(project_name="").select_related("region"))
        Path(clouds_yaml).unlink(missing_ok=True)
        project_ids = write_demo_files(
            seed_path=seed,
            clouds_yaml_path=clouds_yaml,
            base_url=base_url,
            regions=[r.region_name for r in regions],
            projects=sorted({a.project_name for a in allocations}),
            password=SERVICE_PASSWORD,
        )
        # The simulator's project ids are known before it starts: map the allocations now.
        for allocation in allocations:
            Allocation.objects.filter(pk=allocation.pk).update(
                project_id=project_ids[allocation.project_name]
            )
        access_memory.changed()  # remembered allocations (provisioning.listing) are stale
        for name, slug, flavor, image, lease, description in OFFERINGS:
            offering, _ = Offering.objects.update_or_create(
                slug=slug,
                defaults={"name": name, "flavor_name": flavor, "image_name": image,
                          "default_lease_days": lease, "description": description},
            )  # fmt: skip
            offering.regions.set(regions)
        self.stdout.write(
            f"cloudsim seed: {seed}; clouds.yaml: {clouds_yaml} ({len(regions)} regions, "
            f"{len(allocations)} projects); {len(OFFERINGS)} offerings"
        )
