# install_unit.cmake — run at install time (cmake --install, cpack): writes
# the systemd unit with ExecStart pointing at the binaries' installed place,
# which only the install step knows (cpack installs under /usr, a plain
# install under CMAKE_INSTALL_PREFIX). Needs HEARTH_UNIT_IN (the template)
# and HEARTH_UNIT_OUT (where to write it in the build tree) set before it.
set (HEARTH_BINDIR "${CMAKE_INSTALL_PREFIX}/bin")
# file (INSTALL) puts $DESTDIR (cpack's staging dir) in front by itself.
set (unit_dir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
configure_file ("${HEARTH_UNIT_IN}" "${HEARTH_UNIT_OUT}" @ONLY)
file (INSTALL "${HEARTH_UNIT_OUT}" DESTINATION "${unit_dir}"
      PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
