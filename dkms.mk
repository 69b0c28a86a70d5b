# SPDX-License-Identifier: BSD-3-Clause
# The build DKMS runs in its copy of the sources (see dkms.conf): Kbuild
# for each module, in place, without configure; knem-front.ko after knem.ko,
# whose Module.symvers it reads.
#   make -f dkms.mk KERNELDIR=/lib/modules/REL/build KNEM_VERSION=V [XEN_FRONTEND=yes]
KERNELDIR ?= /lib/modules/$(shell uname -r)/build
XEN_FRONTEND ?= no
module_dirs := dom0-backend $(if $(filter yes,$(XEN_FRONTEND)),domU-frontend)
kbuild = $(MAKE) -C $(KERNELDIR) KNEM_VERSION=$(KNEM_VERSION)

# '+': the lines run make through $(kbuild), where GNU make does not see it
# and would not share its jobserver.
modules:
	+$(foreach dir,$(module_dirs),$(kbuild) M=$(CURDIR)/$(dir) modules &&) true

clean:
	+$(foreach dir,dom0-backend domU-frontend,$(kbuild) M=$(CURDIR)/$(dir) clean &&) true

.PHONY: modules clean
